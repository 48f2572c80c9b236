-- One board's parameters.
SELECT parameters FROM rating_parameters WHERE board = $board
