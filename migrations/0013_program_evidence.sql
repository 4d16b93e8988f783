-- #12: the auditable program.
-- Procedure history: every distinct configuration the service ran with (redacted: secrets are
-- "[redacted]"), named by its digest (src/config/digest.ts), with the policy and calendar digests
-- the deadlines record. The program documents of any version can be rendered again from it.
CREATE TABLE procedure_versions (
  config_digest    TEXT PRIMARY KEY,
  first_started_at TEXT NOT NULL,
  policy_digest    TEXT NOT NULL,
  calendar_digest  TEXT NOT NULL,
  -- Uppercase fingerprint and expiry of the signing team key at the time (security.txt Encryption).
  team_fingerprint TEXT NOT NULL,
  team_key_expires TEXT,
  config_json      TEXT NOT NULL
);

-- One row per start of the service: which procedure version was in force from when.
CREATE TABLE procedure_starts (
  id             INTEGER PRIMARY KEY,
  started_at     TEXT NOT NULL,
  config_digest  TEXT NOT NULL REFERENCES procedure_versions (config_digest),
  roles          TEXT NOT NULL,
  version        TEXT NOT NULL
);
CREATE INDEX procedure_starts_at ON procedure_starts (started_at);

-- Every evidence archive written (psirt evidence): the chain head it covered, so `psirt verify`
-- can check later that no event up to that head was changed since the archive was handed over.
CREATE TABLE evidence_exports (
  id              INTEGER PRIMARY KEY,
  written_at      TEXT NOT NULL,
  period_from     TEXT NOT NULL,
  period_to       TEXT NOT NULL,
  head_event_id   INTEGER,
  head_hash       TEXT,
  manifest_sha256 TEXT NOT NULL,
  archive         TEXT NOT NULL
);

-- Watch on the public channel: one alert per thing and expiry date ('security.txt',
-- 'team-key:<FINGERPRINT>'), sent once to the accountable role.
CREATE TABLE channel_alerts (
  subject    TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  alerted_at TEXT NOT NULL,
  outbox_id  INTEGER REFERENCES outbox (id),
  PRIMARY KEY (subject, expires_at)
);
