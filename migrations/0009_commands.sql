-- Staff commands (issue #4): what the commands set on a case, and the replay guard.
ALTER TABLE cases ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';            -- JSON array of words
ALTER TABLE cases ADD COLUMN cve TEXT;
ALTER TABLE cases ADD COLUMN fix_by TEXT;                                 -- agreed fix date YYYY-MM-DD (overrides the policy)
ALTER TABLE cases ADD COLUMN disclose_on TEXT;                            -- agreed disclosure date YYYY-MM-DD
ALTER TABLE cases ADD COLUMN advisory_url TEXT;
ALTER TABLE cases ADD COLUMN credit TEXT;
ALTER TABLE cases ADD COLUMN external TEXT NOT NULL DEFAULT '[]';        -- JSON array: outside expertise called in
ALTER TABLE cases ADD COLUMN waiting_on_reporter INTEGER NOT NULL DEFAULT 0 CHECK (waiting_on_reporter IN (0, 1));
ALTER TABLE cases ADD COLUMN triaged_at TEXT;
ALTER TABLE cases ADD COLUMN verified_at TEXT;
ALTER TABLE cases ADD COLUMN fixed_at TEXT;
ALTER TABLE cases ADD COLUMN published_at TEXT;
ALTER TABLE cases ADD COLUMN reopened_at TEXT;                           -- the triage clock restarts here

-- Every authenticated command mail, by the signature that authenticated it: a signature (PGP
-- signature packet or DKIM b= value) is used once, so a captured signed mail resent under a new
-- Message-ID or with a different Subject changes nothing.
CREATE TABLE command_signatures (
  digest       TEXT PRIMARY KEY,                    -- hex sha256 of the signature
  method       TEXT NOT NULL CHECK (method IN ('pgp', 'dkim', 'authentication-results')),
  staff        TEXT NOT NULL,
  message_row  INTEGER NOT NULL REFERENCES messages (id),
  used_at      TEXT NOT NULL
);
