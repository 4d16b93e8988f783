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

/**
 * What a staff notification to `recipients` threads under (In-Reply-To the first, References all):
 * for each recipient, the Message-ID of the first staff notification of the case that went to
 * them (a row before `beforeId` listing them among its recipients), oldest first, each once.
 * Since #16 one row goes to a whole group of staff, so a group's follow-ups find its one first
 * notification; a database written before #16 holds one row per member, and then each member's
 * own first row is named, so every member's client finds a message it holds in References.
 */
export function firstNotification(
  db: Db,
  caseId: string,
  recipients: readonly string[],
  beforeId: number,
): string[] {
  const first = db.prepare(
    `SELECT o.id, o.message_id FROM outbox o
     WHERE o.case_id = ? AND o.kind = 'staff-notification' AND o.id < ?
       AND EXISTS (SELECT 1 FROM json_each(o.recipients) r WHERE r.value = ?)
     ORDER BY o.id LIMIT 1`,
  );
  const found = new Map<number, string>();
  for (const r of recipients) {
    const row = first.get(caseId, beforeId, r) as { id: number; message_id: string } | undefined;
    if (row !== undefined) found.set(row.id, row.message_id);
  }
  return [...found.entries()].sort(([a], [b]) => a - b).map(([, id]) => id);
}

/**
 * A recipient whose mail must go apart from the others': the relay refused them at RCPT TO (or
 * LMTP after DATA) while it took the others (`refused`), or their key could not be encrypted to
 * (`sealed-apart`: on their own, only their mail fails).
 */
export interface RejectedRecipient {
  address: string;
  /** A 5xx reply: retrying cannot help. Else (4xx, no reply code, sealed apart) it is tried again. */
  permanent: boolean;
  /** The relay's reply or the sealing error, for last_error (never content). */
  error: string;
}

/**
 * A mail the relay took for some recipients and refused for others (#16, decision 0012), or one
 * that cannot be sealed for all of them at once: the row keeps only the other recipients, and
 * each refused recipient gets a row of their own —
 * the same kind, payload, subject and thread, a Message-ID of its own — so nobody who got the
 * mail gets it again and nobody refused is silently dropped. A refused recipient's row is
 * pending (4xx: tried again on its own) or failed at once with the staff alert (5xx), as a
 * one-recipient row would have been. Run before markSent, in its own transaction: a crash in
 * between sends the row again only to those who took it (at-least-once, same Message-ID).
 * Returns the row as it now is and the ids to enqueue (pending rows and alerts).
 */
export function splitRejected(
  db: Db,
  clock: Clock,
  row: OutboxRow,
  rejected: readonly RejectedRecipient[],
  alert: { recipients: string[]; domain: string },
  cause: 'refused' | 'sealed-apart' = 'refused',
): { row: OutboxRow; enqueue: number[] } {
  const refused = rejected.filter((r) => row.recipients.includes(r.address));
  if (refused.length === 0) return { row, enqueue: [] };
  const accepted = row.recipients.filter((a) => !refused.some((r) => r.address === a));
  return db
    .transaction(() => {
      const at = clock.now().toISOString();
      db.prepare('UPDATE outbox SET recipients = ? WHERE id = ?').run(JSON.stringify(accepted), row.id);
      const insert = db.prepare(
        `INSERT INTO outbox (case_id, kind, dedupe_key, recipients, message_id, in_reply_to, refs, subject, payload, created_at, route)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
      );
      const enqueue: number[] = [];
      for (const r of refused) {
        const info = insert.run(
          row.case_id,
          row.kind,
          `${row.dedupe_key}:rcpt:${r.address}`,
          JSON.stringify([r.address]),
          mintMessageId(row.case_id ?? 'psirt', row.kind, alert.domain),
          row.in_reply_to,
          row.refs.length === 0 ? null : row.refs.join(' '),
          row.subject,
          JSON.stringify(row.payload),
          at,
          row.route,
        );
        if (info.changes === 0) continue;
        const id = Number(info.lastInsertRowid);
        appendEvent(db, clock, {
          caseId: row.case_id,
          type: 'outbox.split',
          actor: 'system',
          messageId: row.message_id,
          data: { outboxId: row.id, kind: row.kind, splitTo: id, cause, permanent: r.permanent },
        });
        if (!r.permanent) {
          db.prepare('UPDATE outbox SET last_error = ? WHERE id = ?').run(r.error.slice(0, 500), id);
          enqueue.push(id);
          continue;
        }
        const split = loadOutbox(db, id);
        if (split === null) continue;
        const alertId = markFailed(db, clock, split, r.error, alert);
        if (alertId !== null) enqueue.push(alertId);
      }
      return { row: { ...row, recipients: accepted }, enqueue };
    })
    .immediate();
}
