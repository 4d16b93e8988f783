-- #13: records — sealing at rest, legal hold, retention purge.
--
-- seal_keys: the data keys that seal report content at rest (AES-256-GCM). Each is stored only
-- wrapped: an OpenPGP message encrypted to the team key(s) named in `fingerprints` (a JSON array
-- of uppercase fingerprints). A record is readable while one of those keys is configured.
CREATE TABLE seal_keys (
  id           INTEGER PRIMARY KEY,
  created_at   TEXT NOT NULL,
  fingerprints TEXT NOT NULL,
  wrapped      TEXT NOT NULL
);

-- The report's real subject, sealed (cases.subject keeps only the placeholder at rest).
ALTER TABLE cases ADD COLUMN subject_sealed BLOB;

-- Legal hold: why, since when and by whom (on_hold stays the switch the deadlines read).
ALTER TABLE cases ADD COLUMN hold_reason TEXT;
ALTER TABLE cases ADD COLUMN held_at TEXT;
ALTER TABLE cases ADD COLUMN held_by TEXT;

-- Retention: when a case's content was purged (the row stays as the tombstone).
ALTER TABLE cases ADD COLUMN purged_at TEXT;
ALTER TABLE messages ADD COLUMN purged_at TEXT;
CREATE INDEX cases_closed ON cases (closed_at) WHERE stage = 'closed' AND purged_at IS NULL;
