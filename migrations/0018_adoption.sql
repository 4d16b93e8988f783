-- Adopting an existing mailbox (issue #15). One row per import of old mail as history: the
-- configured IMAP mailbox, an mbox or Maildir export, or "none" (a recorded choice to treat the
-- mail already there as new). An interrupted import keeps its row open (finished_at NULL) and the
-- next run resumes it; the counters move in each message's own transaction, so they survive a
-- kill. Counts only, never content.
CREATE TABLE adoptions (
  id            INTEGER PRIMARY KEY,
  kind          TEXT NOT NULL CHECK (kind IN ('imap', 'mbox', 'maildir', 'none')),
  source        TEXT NOT NULL,                -- the mailbox name, or the export's absolute path
  started_at    TEXT NOT NULL,
  finished_at   TEXT,
  runs          INTEGER NOT NULL DEFAULT 1,
  cases_created INTEGER NOT NULL DEFAULT 0,
  follow_ups    INTEGER NOT NULL DEFAULT 0,
  quarantined   INTEGER NOT NULL DEFAULT 0,
  other         INTEGER NOT NULL DEFAULT 0,   -- staff mail, auto-replies, bounces, duplicates
  summary_outbox_id INTEGER REFERENCES outbox (id)
);
CREATE UNIQUE INDEX adoptions_open ON adoptions (kind, source) WHERE finished_at IS NULL;

-- A case opened from imported history, and the deadlines derived for it from the original dates:
-- recorded (evidence shows them) but never escalated. A later /reopen starts a live cycle whose
-- new deadline rows are not historical.
ALTER TABLE cases ADD COLUMN historical INTEGER NOT NULL DEFAULT 0 CHECK (historical IN (0, 1));
ALTER TABLE deadlines ADD COLUMN historical INTEGER NOT NULL DEFAULT 0 CHECK (historical IN (0, 1));
