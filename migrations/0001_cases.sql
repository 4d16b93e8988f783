-- Cases: one row per vulnerability report. Times are ISO 8601 UTC strings (sortable).
CREATE TABLE cases (
  id               TEXT PRIMARY KEY,                 -- formatted reference, e.g. SEC-2026-0042
  year             INTEGER NOT NULL,
  seq              INTEGER NOT NULL,
  stage            TEXT NOT NULL DEFAULT 'received'
                   CHECK (stage IN ('received', 'triage', 'verifying', 'fixing', 'disclosure', 'closed')),
  resolution       TEXT CHECK (resolution IN
                     ('fixed', 'duplicate', 'invalid', 'not-applicable', 'wontfix', 'withdrawn', 'spam')),
  reporter_address TEXT NOT NULL,
  reporter_name    TEXT,
  subject          TEXT NOT NULL,
  severity         TEXT CHECK (severity IN ('critical', 'high', 'medium', 'low', 'none')),
  cvss_vector      TEXT,
  cvss_score       REAL,
  assignee         TEXT,
  on_hold          INTEGER NOT NULL DEFAULT 0 CHECK (on_hold IN (0, 1)),
  flags            TEXT NOT NULL DEFAULT '[]',       -- JSON array: undecryptable, corrupt, oversize, …
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  closed_at        TEXT,
  CHECK ((stage = 'closed') = (resolution IS NOT NULL)),
  UNIQUE (year, seq)
);
CREATE INDEX cases_open ON cases (stage) WHERE stage <> 'closed';
CREATE INDEX cases_reporter ON cases (reporter_address);

-- Links between cases: a stranger quoting a tag, a duplicate, a related report.
CREATE TABLE case_links (
  case_id    TEXT NOT NULL REFERENCES cases (id),
  other_id   TEXT NOT NULL REFERENCES cases (id),
  kind       TEXT NOT NULL CHECK (kind IN ('related', 'duplicate-of', 'quoted-tag')),
  created_at TEXT NOT NULL,
  PRIMARY KEY (case_id, other_id, kind)
);
