-- A full rebuild recomputes every duplicate (core/validation.py).
DELETE FROM vote_duplicates
