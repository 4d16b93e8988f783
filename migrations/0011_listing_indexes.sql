-- Indexes for listing at scale (issue #6, measured with npm run bench on 1,000,000 cases):
-- `psirt cases list` walks open cases newest first, `psirt deadlines` open and paused deadlines
-- soonest first; both read only the first rows of an index instead of sorting everything.
CREATE INDEX cases_open_created ON cases (created_at DESC, id DESC) WHERE stage <> 'closed';
CREATE INDEX cases_created ON cases (created_at DESC, id DESC);
CREATE INDEX deadlines_pending ON deadlines (due_at) WHERE state IN ('open', 'paused');
