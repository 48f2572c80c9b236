-- The stat fingerprint (device, inode, size, mtime_ns, ctime_ns; core/staging.stat_fingerprint) a read's file
-- had at its path when it was last hashed there, so a later run finds an unchanged file without reading it
-- (core/landing.py, "Known by stat"). A ledger made before has NULL: those files are hashed once more. Idempotent.
ALTER TABLE landing_files ADD COLUMN IF NOT EXISTS stat_fingerprint VARCHAR
