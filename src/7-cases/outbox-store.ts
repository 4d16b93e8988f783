import type { Clock } from '../core/clock.js';
import { mintMessageId } from '../core/message-id.js';
import type { Db } from './db.js';
import { appendEvent } from './events.js';
import type { Vault } from '../core/vault.js';
import { openSubject, type CaseSubject } from './sealed-subject.js';
import { PROTECTED_SUBJECT, sanitizeSubject } from './subject.js';
import type { MailCase } from '../8-outbox/kinds/kind.js';
import type { OutboxPayload } from '../8-outbox/kinds/index.js';

const REPORTER_KINDS: ReadonlySet<string> = new Set(['acknowledgment', 'reporter-status', 'reporter-reply']);

export type OutboxState = 'pending' | 'sending' | 'sent' | 'failed' | 'unknown';

export interface OutboxRow {
  id: number;
  case_id: string | null;
  kind: string;
  dedupe_key: string;
  recipients: string[];
  message_id: string;
  in_reply_to: string | null;
  refs: string[];
  subject: string;
  /** The stored JSON, not yet validated: the mailer reads it with its kind's schema (readPayload). */
  payload: unknown;
  state: OutboxState;
  attempts: number;
  last_error: string | null;
  created_at: string;
  claimed_at: string | null;
  sent_at: string | null;
  /** The SMTP route (#15, migration 0019): 'fallback' for alerts about the service itself. */
  route: 'primary' | 'fallback';
}

interface RawRow extends Omit<OutboxRow, 'recipients' | 'refs' | 'payload'> {
  recipients: string;
  refs: string | null;
  payload: string;
}

function parseRow(r: RawRow): OutboxRow {
  return {
    ...r,
    recipients: JSON.parse(r.recipients) as string[],
    refs: r.refs ? r.refs.split(' ').filter((x) => x !== '') : [],
    payload: JSON.parse(r.payload) as unknown,
  };
}

export function loadOutbox(db: Db, id: number): OutboxRow | null {
  const r = db.prepare('SELECT * FROM outbox WHERE id = ?').get(id) as RawRow | undefined;
  return r ? parseRow(r) : null;
}

/**
 * Claims a row for sending (pending → sending) in an IMMEDIATE transaction, so two workers
 * never send the same row at once. A row still `sending` from a crashed worker can be claimed
 * again once its claim is older than `staleAfterMs`: see docs/decisions/0002 (at-least-once).
 * The mailer runs it (and markSent, markRetry, markFailed) through a group committer (#16):
 * then it is a savepoint of a shared transaction, and the claim counts only once that commits.
 */
export function claimOutbox(db: Db, clock: Clock, id: number, staleAfterMs: number): OutboxRow | null {
  return db
    .transaction((): OutboxRow | null => {
      const now = clock.now();
      const stale = new Date(now.getTime() - staleAfterMs).toISOString();
      const info = db
        .prepare(
          `UPDATE outbox SET state = 'sending', claimed_at = ?, attempts = attempts + 1
           WHERE id = ? AND (state = 'pending' OR (state = 'sending' AND claimed_at < ?))`,
        )
        .run(now.toISOString(), id, stale);
      return info.changes === 1 ? loadOutbox(db, id) : null;
    })
    .immediate();
}

/** The SMTP server accepted the mail: record it at once (the window for a duplicate is this gap). */
export function markSent(db: Db, clock: Clock, row: OutboxRow, response: string): void {
  db.transaction(() => {
    const at = clock.now().toISOString();
    db.prepare("UPDATE outbox SET state = 'sent', sent_at = ?, last_error = NULL WHERE id = ?").run(
      at,
      row.id,
    );
    // Any mail that reached the reporter acknowledges the report (the automatic one, a status
    // mail, or a person's /reply).
    if (REPORTER_KINDS.has(row.kind) && row.case_id !== null) {
      db.prepare(
        "UPDATE deadlines SET state = 'met', met_at = ?, updated_at = ? WHERE case_id = ? AND kind = 'acknowledge' AND state = 'open'",
      ).run(at, at, row.case_id);
    }
    appendEvent(db, clock, {
      caseId: row.case_id,
      type: 'outbox.sent',
      actor: 'system',
      messageId: row.message_id,
      data: {
        outboxId: row.id,
        kind: row.kind,
        recipients: row.recipients.length,
        response: response.slice(0, 120),
      },
    });
  }).immediate();
}

/** A transient failure: back to pending, the job retries with backoff. */
export function markRetry(db: Db, row: OutboxRow, error: string): void {
  db.prepare("UPDATE outbox SET state = 'pending', last_error = ? WHERE id = ? AND state = 'sending'").run(
    error.slice(0, 500),
    row.id,
  );
}

/**
 * A permanent failure (5xx): the row is failed, the case gets an event, and staff get an alert —
 * unless the failed mail was itself a staff alert (no alert loops).
 */
export function markFailed(
  db: Db,
  clock: Clock,
  row: OutboxRow,
  error: string,
  alert: { recipients: string[]; domain: string },
): number | null {
  return db
    .transaction((): number | null => {
      const at = clock.now().toISOString();
      db.prepare("UPDATE outbox SET state = 'failed', last_error = ? WHERE id = ?").run(
        error.slice(0, 500),
        row.id,
      );
      appendEvent(db, clock, {
        caseId: row.case_id,
        type: 'outbox.failed',
        actor: 'system',
        messageId: row.message_id,
        data: { outboxId: row.id, kind: row.kind, error: error.slice(0, 200) },
      });
      if (row.kind === 'delivery-alert' || row.case_id === null || alert.recipients.length === 0) return null;
      const info = db
        .prepare(
          `INSERT INTO outbox (case_id, kind, dedupe_key, recipients, message_id, subject, payload, created_at)
           VALUES (?, 'delivery-alert', ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
        )
        .run(
          row.case_id,
          `alert:${row.id}`,
          JSON.stringify(alert.recipients),
          mintMessageId(row.case_id, 'alert', alert.domain),
          sanitizeSubject(`[${row.case_id}] Delivery failed: ${row.kind}`),
          JSON.stringify({
            template: 'delivery-failed',
            failedOutboxId: row.id,
            autoSubmitted: 'auto-generated',
            flags: [],
          } satisfies OutboxPayload),
          at,
        );
      return info.changes > 0 ? Number(info.lastInsertRowid) : null;
    })
    .immediate();
}

/** Rows the reconciler must (re-)enqueue: pending ones, and `sending` ones whose claim went stale. */
export function unsentOutboxIds(db: Db, clock: Clock, staleAfterMs: number): number[] {
  const stale = new Date(clock.now().getTime() - staleAfterMs).toISOString();
  return (
    db
      .prepare(
        "SELECT id FROM outbox WHERE state = 'pending' OR (state = 'sending' AND claimed_at < ?) ORDER BY id",
      )
      .all(stale) as { id: number }[]
  ).map((r) => r.id);
}

/** What the mailer shows of a case (the type lives with the mail kinds that render it). */
export type CaseSummaryForMail = MailCase;

/**
 * The real subject of a case, opened from `cases.subject_sealed` (#13) — for the mailer only,
 * which puts it inside encrypted mail, or in clear when the report itself was not protected.
 * Null for a case written before #13 (its `cases.subject` is then the clear or neutral one).
 */
export function caseSubjectForMail(db: Db, vault: Vault, caseId: string): CaseSubject | null {
  const row = db.prepare('SELECT subject_sealed FROM cases WHERE id = ?').get(caseId) as
    { subject_sealed: Buffer | null } | undefined;
  return row?.subject_sealed == null ? null : openSubject(vault, row.subject_sealed);
}

/**
 * A case as mail shows it. Its `subject` is the one that may appear in clear: the real one of a
 * report that was not protected, else PROTECTED_SUBJECT (for a case written before #13, the
 * stored column, which already followed that rule).
 */
export function caseForMail(db: Db, vault: Vault, caseId: string): CaseSummaryForMail | null {
  const c = db
    .prepare(
      'SELECT id, stage, severity, assignee, reporter_address, reporter_name, subject, flags, created_at FROM cases WHERE id = ?',
    )
    .get(caseId) as (Omit<CaseSummaryForMail, 'flags' | 'deadlines'> & { flags: string }) | undefined;
  if (!c) return null;
  const sealed = caseSubjectForMail(db, vault, caseId);
  if (sealed !== null)
    c.subject = sealed.protected || sealed.subject === null ? PROTECTED_SUBJECT : sealed.subject;
  const deadlines = Object.fromEntries(
    (
      db.prepare('SELECT kind, due_at FROM deadlines WHERE case_id = ?').all(caseId) as {
        kind: string;
        due_at: string;
      }[]
    ).map((d) => [d.kind, d.due_at]),
  );
  return { ...c, flags: JSON.parse(c.flags) as string[], deadlines };
}

/** The stored report of a case: the first message filed to it. */
export function reportMessageRow(db: Db, caseId: string): number | null {
  const row = db.prepare('SELECT id FROM messages WHERE case_id = ? ORDER BY id LIMIT 1').get(caseId) as
    { id: number } | undefined;
  return row?.id ?? null;
}

/** The Message-ID of the first notification a staff member got for a case: later ones thread under it. */
export function firstNotification(
  db: Db,
  caseId: string,
  recipient: string,
  beforeId: number,
): string | null {
  const row = db
    .prepare(
      `SELECT message_id FROM outbox WHERE case_id = ? AND kind = 'staff-notification' AND recipients = json_array(?) AND id < ?
       ORDER BY id LIMIT 1`,
    )
    .get(caseId, recipient, beforeId) as { message_id: string } | undefined;
  return row?.message_id ?? null;
}
