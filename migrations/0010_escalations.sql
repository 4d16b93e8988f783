-- Deadlines and escalation (issue #5).
-- A deadline can be paused (waiting on the reporter, or a hold). SQLite cannot change a CHECK
-- constraint in place: the table is rebuilt, rows and index kept.
CREATE TABLE deadlines_v2 (
  id         INTEGER PRIMARY KEY,
  case_id    TEXT NOT NULL REFERENCES cases (id),
  kind       TEXT NOT NULL CHECK (kind IN ('acknowledge', 'triage', 'verify', 'fix', 'disclose')),
  due_at     TEXT NOT NULL,
  state      TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'met', 'cancelled', 'paused')),
  met_at     TEXT,
  calendar   TEXT NOT NULL,
  policy     TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (case_id, kind)
);
INSERT INTO deadlines_v2 (id, case_id, kind, due_at, state, met_at, calendar, policy, updated_at)
  SELECT id, case_id, kind, due_at, state, met_at, calendar, policy, updated_at FROM deadlines;
DROP TABLE deadlines;
ALTER TABLE deadlines_v2 RENAME TO deadlines;
CREATE INDEX deadlines_due ON deadlines (due_at) WHERE state = 'open';

-- One row per escalation step of a deadline (and per outside-expertise call). A step is sent
-- once: the sweep claims it (pending → sent) in the transaction that writes its outbox row, so
-- several workers, a Redis restart or FLUSHALL never send it twice and never lose it.
CREATE TABLE escalations (
  id          INTEGER PRIMARY KEY,
  case_id     TEXT NOT NULL REFERENCES cases (id),
  deadline    TEXT NOT NULL,                       -- a deadline kind, or 'outside-expertise'
  step        INTEGER NOT NULL,                    -- index in escalation.ladder
  cycle       TEXT NOT NULL DEFAULT '',            -- '' or the time the case was reopened
  recipient   TEXT NOT NULL CHECK (recipient IN ('assignee', 'oncall', 'accountable')),
  fire_at     TEXT NOT NULL,
  state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'stopped', 'sent')),
  reason      TEXT NOT NULL DEFAULT '{}',          -- JSON: why (outside expertise), never content
  sent_at     TEXT,
  outbox_id   INTEGER REFERENCES outbox (id),
  UNIQUE (case_id, deadline, step, cycle)
);
CREATE INDEX escalations_due ON escalations (fire_at) WHERE state = 'pending';
CREATE INDEX escalations_case ON escalations (case_id);
