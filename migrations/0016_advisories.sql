-- #14: the disclosure half of CVD — advisories, the draft confirmed with the reporter, embargo
-- reminders, customer notification.
--
-- What an advisory needs, on the case: title, summary, CWE, affected products and ranges, fixed
-- versions, references — one JSON object (src/advisory/model.ts AdvisoryFields), sealed at rest
-- like the subject (vault purpose 'cases.advisory'): before publication it names the flaw.
ALTER TABLE cases ADD COLUMN advisory_sealed BLOB;

-- The reporter's stated credit preference, from a `Credit:` line on their thread: NULL = never
-- stated, '' = "none" (no credit), else the name. `credit` stays what staff set (/credit).
ALTER TABLE cases ADD COLUMN credit_preference TEXT;
ALTER TABLE cases ADD COLUMN credit_preference_at TEXT;
-- Staff published a credit other than the reporter's preference (/credit-override): why.
ALTER TABLE cases ADD COLUMN credit_override_reason TEXT;

-- The draft confirmed with the reporter (/draft), or why none could be sent (/no-draft).
ALTER TABLE cases ADD COLUMN draft_sent_at TEXT;
ALTER TABLE cases ADD COLUMN no_draft_reason TEXT;

-- Frozen advisory versions: each draft sent to the reporter and each published revision
-- (revision 1 at /publish, then one per /revise). `doc_sealed` is the sealed JSON of what the
-- formats render from (src/advisory/model.ts AdvisorySnapshot, vault purpose 'advisory.doc'), so
-- a mail retried or a format rendered later shows exactly that version. `summary` is the
-- revision's change note (staff text, e.g. "Initial public release").
CREATE TABLE advisory_versions (
  id         INTEGER PRIMARY KEY,
  case_id    TEXT NOT NULL REFERENCES cases (id),
  kind       TEXT NOT NULL CHECK (kind IN ('draft', 'revision')),
  number     INTEGER NOT NULL,               -- 1, 2, … per case and kind
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,                  -- the staff address
  summary    TEXT NOT NULL DEFAULT '',
  doc_sealed BLOB NOT NULL,
  UNIQUE (case_id, kind, number)
);

-- Who was told of which revision, when (§4.1.5 Method 4; the evidence pack lists it). One row per
-- customer and revision: repeating /notify finds the row and sends nothing.
CREATE TABLE customer_notifications (
  id          INTEGER PRIMARY KEY,
  case_id     TEXT NOT NULL REFERENCES cases (id),
  customer    TEXT NOT NULL,                 -- customers[].name
  address     TEXT NOT NULL,
  revision    INTEGER NOT NULL,
  encrypted   INTEGER NOT NULL CHECK (encrypted IN (0, 1)),
  queued_at   TEXT NOT NULL,
  queued_by   TEXT NOT NULL,
  outbox_id   INTEGER REFERENCES outbox (id),
  UNIQUE (case_id, customer, revision)
);
CREATE INDEX customer_notifications_case ON customer_notifications (case_id);

-- Embargo reminders: a configured time before the agreed disclosure date, one to the reporter
-- and one to the assignee, each once per agreed date. Claimed pending → sent in the transaction
-- that writes its outbox row (as escalations); a changed date stops the old date's reminders.
CREATE TABLE embargo_reminders (
  id          INTEGER PRIMARY KEY,
  case_id     TEXT NOT NULL REFERENCES cases (id),
  recipient   TEXT NOT NULL CHECK (recipient IN ('reporter', 'assignee')),
  disclose_on TEXT NOT NULL,                 -- YYYY-MM-DD, the date reminded of
  fire_at     TEXT NOT NULL,
  state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'stopped', 'sent')),
  sent_at     TEXT,
  outbox_id   INTEGER REFERENCES outbox (id),
  UNIQUE (case_id, recipient, disclose_on)
);
CREATE INDEX embargo_reminders_due ON embargo_reminders (fire_at) WHERE state = 'pending';
