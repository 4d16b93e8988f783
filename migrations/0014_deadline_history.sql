-- #12: the deadlines of a case's earlier cycles. /reopen starts the deadlines again; `deadlines`
-- holds one row per (case, kind), so before the new cycle derives its rows the old ones are
-- copied here, in the reopen's transaction: an SLA miss is never erased by closing and reopening.
-- `cycle_started_at` is when that cycle's clock started (received, or the previous reopen),
-- `cycle_ended_at` when it was closed; the rest is the deadline row as it stood then.
CREATE TABLE deadline_history (
  case_id          TEXT NOT NULL REFERENCES cases (id),
  kind             TEXT NOT NULL,
  cycle_started_at TEXT NOT NULL,
  cycle_ended_at   TEXT NOT NULL,
  due_at           TEXT NOT NULL,
  met_at           TEXT,
  state            TEXT NOT NULL,
  calendar         TEXT NOT NULL,
  policy           TEXT NOT NULL,
  archived_at      TEXT NOT NULL,
  PRIMARY KEY (case_id, kind, cycle_started_at)
);
