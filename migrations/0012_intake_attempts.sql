-- #10, DESIGN.md invariant 8: one message never stops the mailbox.
-- Attempts to process a stored message, counted and committed BEFORE each attempt: a mail that
-- kills the process is recognised after the restart, and quarantined after intake.max_attempts.
ALTER TABLE messages ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
-- Why the last attempt failed: the error's class, code and message, never mail content.
ALTER TABLE messages ADD COLUMN last_error TEXT;
