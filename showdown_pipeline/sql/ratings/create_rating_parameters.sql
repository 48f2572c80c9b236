-- Parameters of the latest fit of each board (board name -> JSON), read back by publish.
CREATE TABLE IF NOT EXISTS rating_parameters (board VARCHAR PRIMARY KEY, parameters JSON)
