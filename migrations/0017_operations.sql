-- #15 Operating it for real: what the service knows about its own health.
--
-- Alarms the service raises about itself — the mail round trip did not come back, the intake
-- stopped fetching, the SMTP relay is down — each with at most one open row per name: raising an
-- open alarm again changes nothing, clearing it closes the row (the all-clear). `detail` is
-- written by the service (counts, times, a host:port) and never carries mail content, a subject
-- or a reporter's address. Read by the metrics (`psirt_alarm_active`), `psirt doctor` and the
-- evidence of operation.
CREATE TABLE alarms (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL CHECK (name GLOB '[a-z]*' AND name NOT GLOB '*[^a-z0-9-]*'),
  raised_at TEXT NOT NULL,
  cleared_at TEXT,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX alarms_one_open ON alarms (name) WHERE cleared_at IS NULL;

-- The last moment a part of the service made progress ('intake.synced' after each complete
-- mailbox sync, …): one row per mark, overwritten. Shared by the processes of a `--role` split.
CREATE TABLE service_marks (
  name TEXT PRIMARY KEY,
  at TEXT NOT NULL
);
