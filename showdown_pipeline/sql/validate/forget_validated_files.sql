-- A full rebuild starts from no validated file (core/validation.py).
DELETE FROM votes_validated_files
