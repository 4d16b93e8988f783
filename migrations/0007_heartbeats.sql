-- Each running role writes a heartbeat; `psirt doctor --quick` (the container HEALTHCHECK) reads it.
CREATE TABLE heartbeats (
  role       TEXT NOT NULL,
  host       TEXT NOT NULL,
  pid        INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  beat_at    TEXT NOT NULL,
  PRIMARY KEY (role, host, pid)
);
