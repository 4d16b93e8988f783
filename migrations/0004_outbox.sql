-- Every outgoing mail is a row here first, written in the transaction that caused it
-- (invariant 3). Its Message-ID derives from the row, so a re-send is the same message.
CREATE TABLE outbox (
  id          INTEGER PRIMARY KEY,
  case_id     TEXT REFERENCES cases (id),
  kind        TEXT NOT NULL,                        -- acknowledgment, staff-notification, status, escalation, …
  dedupe_key  TEXT NOT NULL UNIQUE,                 -- what caused it; the same cause never mails twice
  recipients  TEXT NOT NULL,                        -- JSON array of addresses
  message_id  TEXT NOT NULL UNIQUE,
  in_reply_to TEXT,
  refs        TEXT,                                 -- References, space separated
  subject     TEXT NOT NULL,
  payload     TEXT NOT NULL DEFAULT '{}',           -- JSON: template name and its data
  state       TEXT NOT NULL DEFAULT 'pending'
              CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
  attempts    INTEGER NOT NULL DEFAULT 0,
  last_error  TEXT,
  created_at  TEXT NOT NULL,
  claimed_at  TEXT,
  sent_at     TEXT
);
CREATE INDEX outbox_unsent ON outbox (state, id) WHERE state IN ('pending', 'sending');
CREATE INDEX outbox_case ON outbox (case_id);
