-- Replace one board's parameters.
INSERT OR REPLACE INTO rating_parameters VALUES ($board, $parameters)
