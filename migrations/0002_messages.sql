-- Every inbound mail, stored raw before anything parses it (invariant 2: nothing is lost).
-- Unique by IMAP position (mailbox, UIDVALIDITY, UID) and by content digest.
CREATE TABLE messages (
  id            INTEGER PRIMARY KEY,
  mailbox       TEXT NOT NULL,
  uidvalidity   TEXT NOT NULL,                      -- imapflow gives a bigint: stored as text
  uid           INTEGER NOT NULL,
  sha256        TEXT NOT NULL UNIQUE,               -- hex digest of the raw bytes
  message_id    TEXT,                               -- Message-ID header, without <>, may be absent
  size          INTEGER NOT NULL,
  raw           BLOB,                               -- the exact bytes as fetched …
  raw_path      TEXT,                               -- … or a file beside the database for huge mail
  internal_date TEXT,
  stored_at     TEXT NOT NULL,
  state         TEXT NOT NULL DEFAULT 'received' CHECK (state IN ('received', 'applied', 'failed')),
  case_id       TEXT REFERENCES cases (id),
  failure       TEXT,                               -- why decoding/applying failed (no content)
  CHECK ((raw IS NULL) <> (raw_path IS NULL)),
  UNIQUE (mailbox, uidvalidity, uid)
);
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_case ON messages (case_id);
CREATE INDEX messages_pending ON messages (state) WHERE state = 'received';

-- Where intake left off, advanced in the same transaction that stores a message.
CREATE TABLE intake_checkpoints (
  mailbox     TEXT PRIMARY KEY,
  uidvalidity TEXT NOT NULL,
  last_uid    INTEGER NOT NULL,
  updated_at  TEXT NOT NULL
);
