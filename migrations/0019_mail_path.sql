-- #15 deliverables 3 and 5: the dead-man on the mail path, and the second SMTP route.
--
-- One row per dead-man probe: a mail from smtp.from_address to the service's own mailbox,
-- carrying a token and a MAC only the service can make (X-Psirt-Probe). The row is claimed with
-- its outbox row in one IMMEDIATE transaction, so of two processes one sends each probe; the
-- intake sets `returned_at` when the probe comes back (filed, never a case). `due_at` is
-- sent_at + deadman.window_seconds: a probe still out after it raises the 'mail-roundtrip'
-- alarm. The token is random, never derived from mail; rows hold no content.
CREATE TABLE probes (
  id          INTEGER PRIMARY KEY,
  token       TEXT NOT NULL UNIQUE,
  sent_at     TEXT NOT NULL,
  due_at      TEXT NOT NULL,
  returned_at TEXT,
  outbox_id   INTEGER REFERENCES outbox (id)
);
CREATE INDEX probes_sent ON probes (sent_at);

-- Which SMTP route a row goes by: 'primary' ([smtp]) or 'fallback' ([smtp_fallback], the
-- second route alerts about the service itself take when one is configured; without one the
-- mailer sends them by the primary route).
ALTER TABLE outbox ADD COLUMN route TEXT NOT NULL DEFAULT 'primary' CHECK (route IN ('primary', 'fallback'));
