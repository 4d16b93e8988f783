-- Details the intake needs beyond the first schema.
-- Reporter keys may be looked up by fingerprint (signature verification of follow-ups).
CREATE INDEX reporter_keys_fingerprint ON reporter_keys (fingerprint);
-- Acknowledgment rate limiting counts recent acknowledgments per reporter address.
CREATE INDEX outbox_kind_created ON outbox (kind, created_at);
-- Which decode verdicts a stored message got (JSON: encryption, signature; never content).
ALTER TABLE messages ADD COLUMN verdict TEXT;
-- The sender as parsed, lower-cased, for per-sender queries without re-parsing raw mail.
ALTER TABLE messages ADD COLUMN sender TEXT;
-- Where the IMAP copy went after commit: NULL (still in the mailbox), 'processed' or 'quarantine'.
ALTER TABLE messages ADD COLUMN filed_to TEXT CHECK (filed_to IN ('processed', 'quarantine'));
