-- Reporter keys, pinned on first use: a different key for the same address is recorded as
-- 'changed' and shown to staff, never silently swapped in.
CREATE TABLE reporter_keys (
  id               INTEGER PRIMARY KEY,
  address          TEXT NOT NULL,                   -- lower-cased e-mail address
  fingerprint      TEXT NOT NULL,
  armored          TEXT NOT NULL,                   -- public key only
  source           TEXT NOT NULL
                   CHECK (source IN ('attachment', 'autocrypt', 'encrypted-part', 'signature', 'manual')),
  status           TEXT NOT NULL DEFAULT 'pinned' CHECK (status IN ('pinned', 'changed', 'retired')),
  first_seen_at    TEXT NOT NULL,
  last_seen_at     TEXT NOT NULL,
  first_message_id INTEGER REFERENCES messages (id),
  UNIQUE (address, fingerprint)
);
CREATE INDEX reporter_keys_address ON reporter_keys (address);
