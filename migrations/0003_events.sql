-- The audit trail: append-only, hash-chained (invariant 7). hash = sha256(prev_hash + the row's
-- canonical content); the first row's prev_hash is 64 zeros. Editing or deleting a row breaks the
-- chain, which `verifyEventChain` detects.
CREATE TABLE events (
  id         INTEGER PRIMARY KEY,
  case_id    TEXT REFERENCES cases (id),            -- NULL for service-wide events
  at         TEXT NOT NULL,
  type       TEXT NOT NULL,                         -- e.g. case.opened, case.stage-changed
  actor      TEXT NOT NULL,                         -- system | reporter:<addr> | staff:<addr>
  auth       TEXT,                                  -- how the actor was authenticated (fingerprint, dkim:<domain>)
  message_id TEXT,                                  -- the mail that caused it, if any
  data       TEXT NOT NULL DEFAULT '{}',            -- JSON details, never report content
  prev_hash  TEXT NOT NULL,
  hash       TEXT NOT NULL UNIQUE
);
CREATE INDEX events_case ON events (case_id, id);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;
