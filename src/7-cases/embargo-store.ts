import type { Calendar } from '../calendar/calendar.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { mintMessageId } from '../core/message-id.js';
import type { EmbargoReminderPayload } from '../8-outbox/kinds/embargo-reminder.js';
import { mailDomain } from './addresses.js';
import type { Db } from './db.js';
import { loadCaseRow } from './deadline-store.js';
import { appendEvent } from './events.js';
import {
  planReminders,
  reminderRecipients,
  reminderVerdict,
  reporterToldOnAgreement,
  type EmbargoCase,
  type EmbargoRecipient,
  type PlannedReminder,
} from './rules/embargo.js';
import { threadOf } from './rules/thread.js';
import { reporterThreadIds } from './staff-facts.js';
import { replySubject, sanitizeSubject } from './subject.js';

/**
 * Embargo reminders in SQLite (issue #14, `embargo_reminders`): planned from each case's agreed
 * date and `disclose` deadline (rules/embargo.ts), claimed by the escalation role's sweep.
 */

export interface EmbargoOptions {
  config: Config;
  calendar: Calendar;
  caseIdPattern: string;
}

interface ReminderRow {
  id: number;
  case_id: string;
  recipient: EmbargoRecipient;
  disclose_on: string;
  fire_at: string;
  state: 'pending' | 'stopped' | 'sent';
}

/** What the reminder rules read of a case: its row, its `disclose` deadline, when the date was agreed. */
export function embargoCaseOf(
  db: Db,
  caseId: string,
): (EmbargoCase & { row: NonNullable<ReturnType<typeof loadCaseRow>> }) | null {
  const row = loadCaseRow(db, caseId);
  if (row === null) return null;
  const deadline = db
    .prepare("SELECT due_at AS dueAt, state FROM deadlines WHERE case_id = ? AND kind = 'disclose'")
    .get(caseId) as { dueAt: string; state: string } | undefined;
  const agreed = db
    .prepare(
      "SELECT at FROM events WHERE case_id = ? AND type = 'case.disclosure-scheduled' ORDER BY id DESC LIMIT 1",
    )
    .get(caseId) as { at: string } | undefined;
  return {
    row,
    discloseOn: row.disclose_on,
    agreedAt: agreed?.at ?? null,
    closed: row.closed_at !== null,
    published: row.published_at !== null,
    onHold: row.on_hold === 1,
    hasReporter: row.reporter_address !== '',
    deadline: deadline ?? null,
  };
}

/** The cases whose reminders may need planning: an agreed date and still to publish, or a reminder pending. */
function embargoCases(db: Db): string[] {
  return (
    db
      .prepare(
        `SELECT id FROM cases WHERE disclose_on IS NOT NULL AND closed_at IS NULL AND published_at IS NULL
         UNION SELECT case_id FROM embargo_reminders WHERE state = 'pending'`,
      )
      .all() as { id: string }[]
  ).map((r) => r.id);
}

function remindersOf(db: Db, caseId: string): ReminderRow[] {
  return db.prepare('SELECT * FROM embargo_reminders WHERE case_id = ?').all(caseId) as ReminderRow[];
}

/** The writes that bring a case's stored reminders to the plan: rows to insert or move, pending ones to stop. */
function diff(
  stored: readonly ReminderRow[],
  plan: readonly PlannedReminder[],
): { upserts: PlannedReminder[]; stop: number[] } {
  const key = (recipient: string, date: string): string => `${recipient} ${date}`;
  const byKey = new Map(stored.map((r) => [key(r.recipient, r.disclose_on), r]));
  const wanted = new Set(plan.map((p) => key(p.recipient, p.discloseOn)));
  const upserts = plan.filter((p) => {
    const r = byKey.get(key(p.recipient, p.discloseOn));
    // Once sent, never again for that date; a stopped one comes back when its date is agreed again.
    return (
      r === undefined ||
      (r.state !== 'sent' && (r.state !== 'pending' || r.fire_at !== p.fireAt.toISOString()))
    );
  });
  const stop = stored
    .filter((r) => r.state === 'pending' && !wanted.has(key(r.recipient, r.disclose_on)))
    .map((r) => r.id);
  return { upserts, stop };
}

/**
 * Brings one case's reminders to what its agreed date and deadline give now: inserts the
 * reminders of the agreed date (or moves their time with the deadline), stops the pending ones of
 * another date or of a case published or closed. Reads first and takes the write lock only when
 * something changes (every sweep calls it). Returns whether it wrote.
 */
export function syncEmbargoReminders(
  db: Db,
  opts: Pick<EmbargoOptions, 'config' | 'calendar'>,
  caseId: string,
): boolean {
  const plan = (): { upserts: PlannedReminder[]; stop: number[] } => {
    const c = embargoCaseOf(db, caseId);
    const planned = c === null ? [] : planReminders(c, opts.config.disclosure.remind_before, opts.calendar);
    return diff(remindersOf(db, caseId), planned);
  };
  const first = plan();
  if (first.upserts.length === 0 && first.stop.length === 0) return false;
  return db
    .transaction((): boolean => {
      const { upserts, stop } = plan(); // again, under the write lock
      const upsert = db.prepare(
        `INSERT INTO embargo_reminders (case_id, recipient, disclose_on, fire_at, state)
         VALUES (?, ?, ?, ?, 'pending')
         ON CONFLICT (case_id, recipient, disclose_on) DO UPDATE SET fire_at = excluded.fire_at, state = 'pending'
         WHERE state <> 'sent'`,
      );
      for (const p of upserts) upsert.run(caseId, p.recipient, p.discloseOn, p.fireAt.toISOString());
      const halt = db.prepare(
        "UPDATE embargo_reminders SET state = 'stopped' WHERE id = ? AND state = 'pending'",
      );
      for (const id of stop) halt.run(id);
      return upserts.length + stop.length > 0;
    })
    .immediate();
}

/** Plans the reminders of every case that may have some (each sweep, before the claims). */
export function syncAllEmbargoReminders(db: Db, opts: Pick<EmbargoOptions, 'config' | 'calendar'>): number {
  let changed = 0;
  for (const id of embargoCases(db)) if (syncEmbargoReminders(db, opts, id)) changed += 1;
  return changed;
}

/** Pending reminders whose time has come, oldest first (the `embargo_reminders_due` index). */
export function dueEmbargoReminders(db: Db, now: Date, limit = 500): number[] {
  return (
    db
      .prepare(
        "SELECT id FROM embargo_reminders WHERE state = 'pending' AND fire_at <= ? ORDER BY fire_at LIMIT ?",
      )
      .all(now.toISOString(), limit) as { id: number }[]
  ).map((r) => r.id);
}

/**
 * Sends one due reminder: decides on the case as it is now (rules/embargo.ts reminderVerdict),
 * claims it (pending → sent) and writes its outbox row and event in one IMMEDIATE transaction,
 * so of several escalation workers exactly one sends it; a Redis FLUSHALL or a restart loses
 * nothing (the row is in SQLite). A reminder of a date since changed, of a case published or
 * closed, or past its date is stopped; one on hold waits. Returns the outbox row id, or null.
 */
export function fireEmbargoReminder(db: Db, clock: Clock, opts: EmbargoOptions, id: number): number | null {
  const { config } = opts;
  return db
    .transaction((): number | null => {
      const r = db.prepare("SELECT * FROM embargo_reminders WHERE id = ? AND state = 'pending'").get(id) as
        ReminderRow | undefined;
      if (!r) return null;
      const c = embargoCaseOf(db, r.case_id);
      const now = clock.now();
      const verdict =
        c === null
          ? ({ action: 'stop', why: 'not-planned' } as const)
          : reminderVerdict(c, r, now, {
              remindBefore: config.disclosure.remind_before,
              calendar: opts.calendar,
              reporterTold: reporterToldOnAgreement(config),
            });
      if (verdict.action === 'stop') {
        db.prepare("UPDATE embargo_reminders SET state = 'stopped' WHERE id = ?").run(id);
        return null;
      }
      if (verdict.action === 'wait') {
        if (verdict.fireAt !== null)
          db.prepare('UPDATE embargo_reminders SET fire_at = ? WHERE id = ?').run(
            verdict.fireAt.toISOString(),
            id,
          );
        return null;
      }
      if (c === null || c.deadline === null) return null; // unreachable: the verdict was send
      const at = now.toISOString();
      const row = c.row;
      const recipients = reminderRecipients(config, r.recipient, {
        reporterAddress: row.reporter_address,
        assignee: row.assignee,
      });
      const payload: EmbargoReminderPayload = {
        template: 'embargo-reminder',
        autoSubmitted: 'auto-generated',
        reminderId: id,
        audience: r.recipient === 'reporter' ? 'reporter' : 'staff',
        discloseOn: r.disclose_on,
        dueAt: new Date(c.deadline.dueAt).toISOString(),
      };
      // The reporter's on their thread (as the status mails); the staff's starts its own, with a
      // subject of ids and dates only (never the report's).
      const thread =
        r.recipient === 'reporter'
          ? threadOf(reporterThreadIds(db, r.case_id, row.reporter_address))
          : { inReplyTo: null, references: [] as string[] };
      const subject =
        r.recipient === 'reporter'
          ? replySubject(r.case_id, row.subject, opts.caseIdPattern)
          : sanitizeSubject(`[${r.case_id}] Embargo: disclosure agreed for ${r.disclose_on}`);
      const info = db
        .prepare(
          `INSERT INTO outbox (case_id, kind, dedupe_key, recipients, message_id, in_reply_to, refs, subject, payload, created_at)
           VALUES (?, 'embargo-reminder', ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
        )
        .run(
          r.case_id,
          `embargo:${id}`,
          JSON.stringify(recipients),
          mintMessageId(r.case_id, 'embargo-reminder', mailDomain(config)),
          thread.inReplyTo,
          thread.references.join(' '),
          subject,
          JSON.stringify(payload),
          at,
        );
      const outboxId = info.changes > 0 ? Number(info.lastInsertRowid) : null;
      db.prepare("UPDATE embargo_reminders SET state = 'sent', sent_at = ?, outbox_id = ? WHERE id = ?").run(
        at,
        outboxId,
        id,
      );
      appendEvent(db, clock, {
        caseId: r.case_id,
        type: 'embargo.reminder-sent',
        actor: 'system',
        data: { reminderId: id, to: r.recipient, discloseOn: r.disclose_on, recipients: recipients.length },
      });
      return outboxId;
    })
    .immediate();
}

/**
 * One embargo round of the escalation sweep: plans every case's reminders, then sends the due
 * ones. Returns the outbox ids written.
 */
export function sweepEmbargo(db: Db, clock: Clock, opts: EmbargoOptions): number[] {
  syncAllEmbargoReminders(db, opts);
  const sent: number[] = [];
  // One pass: a reminder that waits (on hold) stays due, and the next sweep looks again.
  for (const id of dueEmbargoReminders(db, clock.now(), 1000)) {
    const outboxId = fireEmbargoReminder(db, clock, opts, id);
    if (outboxId !== null) sent.push(outboxId);
  }
  return sent;
}
