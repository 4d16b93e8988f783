-- Deadlines derived from the event log and the policy; `calendar` and `policy` record which
-- calendar and policy produced `due_at`, so a change can be detected and recomputed.
CREATE TABLE deadlines (
  id         INTEGER PRIMARY KEY,
  case_id    TEXT NOT NULL REFERENCES cases (id),
  kind       TEXT NOT NULL CHECK (kind IN ('acknowledge', 'triage', 'verify', 'fix', 'disclose')),
  due_at     TEXT NOT NULL,
  state      TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'met', 'cancelled')),
  met_at     TEXT,
  calendar   TEXT NOT NULL,
  policy     TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (case_id, kind)
);
CREATE INDEX deadlines_due ON deadlines (due_at) WHERE state = 'open';
