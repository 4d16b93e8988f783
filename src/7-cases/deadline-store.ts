import type { Calendar } from '../calendar/calendar.js';
import type { Config } from '../config/schema.js';
import { mailDomain } from './addresses.js';
import type { Clock } from '../core/clock.js';
import { mintMessageId } from '../core/message-id.js';
import { policyOf } from '../policy/deadlines.js';
import type { Db } from './db.js';
import { appendEvent } from './events.js';
import { isHistoricalCase } from './adoption-store.js';
import { toState, type CaseRow } from './rules/case-row.js';
import type { AcknowledgeEffect } from './rules/change.js';
import {
  planDeadlineSync,
  PAUSE_EVENTS,
  type DeadlineRow,
  type DeadlineSync,
  type EndedCycle,
  type PauseEvent,
} from './rules/deadlines.js';
import { escalationMail, escalationRecipients, type EscalationRow } from './rules/escalation.js';

/** Deadlines and escalation steps in SQLite (issue #5): derived (rules/deadlines.ts), stored, swept. */

export function loadCaseRow(db: Db, caseId: string): CaseRow | null {
  return (db.prepare('SELECT * FROM cases WHERE id = ?').get(caseId) as CaseRow | undefined) ?? null;
}

/** What the deadline sync reads of a case besides its row: its stored deadlines and pause events. */
export function readDeadlineFacts(
  db: Db,
  caseId: string,
): { deadlines: DeadlineRow[]; pauses: PauseEvent[] } {
  const deadlines = db
    .prepare('SELECT kind, due_at, state FROM deadlines WHERE case_id = ?')
    .all(caseId) as DeadlineRow[];
  const rows = db
    .prepare(
      `SELECT at, type, data FROM events WHERE case_id = ? AND type IN (${PAUSE_EVENTS.map(() => '?').join(', ')}) ORDER BY id`,
    )
    .all(caseId, ...PAUSE_EVENTS) as { at: string; type: string; data: string }[];
  const pauses = rows.map((r) => ({
    at: r.at,
    type: r.type,
    data: JSON.parse(r.data) as PauseEvent['data'],
  }));
  return { deadlines, pauses };
}

/**
 * Re-derives a stored case's deadlines and escalation steps from what is stored (a policy or
 * calendar change). Runs inside the caller's transaction.
 */
export function syncDeadlines(db: Db, caseId: string, config: Config, calendar: Calendar, at: string): void {
  const row = loadCaseRow(db, caseId);
  if (row === null) return;
  const facts = readDeadlineFacts(db, caseId);
  writeDeadlineSync(
    db,
    planDeadlineSync({ state: toState(row), createdAt: row.created_at, ...facts }, config, calendar, at),
  );
}

/** The acknowledge deadline: opened with a new case, cancelled by the flood guard, reopened by /ack. */
export function writeAcknowledge(db: Db, a: AcknowledgeEffect, at: string): void {
  if (a.effect === 'insert') {
    db.prepare(
      'INSERT INTO deadlines (case_id, kind, due_at, state, calendar, policy, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).run(a.caseId, 'acknowledge', a.dueAt, a.state, a.calendarId, a.policy, at);
    return;
  }
  const [to, from] = a.effect === 'cancel' ? ['cancelled', 'open'] : ['open', 'cancelled'];
  db.prepare(
    "UPDATE deadlines SET state = ?, updated_at = ? WHERE case_id = ? AND kind = 'acknowledge' AND state = ?",
  ).run(to, at, a.caseId, from);
}

/**
 * The one writer of a deadline sync (rules/deadlines.ts `planDeadlineSync`): the derived
 * deadlines with the calendar and policy that produced them, the cancellations, and the
 * escalation steps. A step already sent is never touched again.
 */
export function writeDeadlineSync(db: Db, s: DeadlineSync): void {
  const { caseId, at } = s;
  if (s.archive !== null) {
    archiveCycle(db, caseId, s.archive, at);
    // A new cycle of an imported case (/reopen) is live work: its deadlines escalate.
    db.prepare('UPDATE cases SET historical = 0 WHERE id = ? AND historical = 1').run(caseId);
  }
  // A deadline kind first derived later for an imported case (a policy change, a follow-up) is
  // history like the others (#15 review): never escalated. A new cycle (/reopen) is live.
  const upsert = db.prepare(
    `INSERT INTO deadlines (case_id, kind, due_at, state, met_at, calendar, policy, updated_at, historical)
     VALUES (@case, @kind, @due, @state, @met, @calendar, @policy, @at,
       CASE WHEN @newCycle THEN 0 ELSE coalesce((SELECT historical FROM cases WHERE id = @case), 0) END)
     ON CONFLICT (case_id, kind) DO UPDATE SET due_at = @due, state = @state, met_at = @met,
       calendar = @calendar, policy = @policy, updated_at = @at
     WHERE due_at IS NOT @due OR state IS NOT @state OR met_at IS NOT @met OR calendar IS NOT @calendar OR policy IS NOT @policy`,
  );
  for (const d of s.upserts) {
    upsert.run({
      case: caseId,
      kind: d.kind,
      due: d.dueAt,
      state: d.state,
      met: d.metAt,
      calendar: s.calendarId,
      policy: s.policy,
      newCycle: s.archive === null ? 0 : 1,
      at,
    });
  }
  for (const kind of s.cancel) {
    db.prepare(
      "UPDATE deadlines SET state = 'cancelled', updated_at = ? WHERE case_id = ? AND kind = ? AND state = 'open'",
    ).run(at, caseId, kind);
  }
  const step = db.prepare(
    `INSERT INTO escalations (case_id, deadline, step, cycle, recipient, fire_at, state, reason)
     VALUES (@case, @deadline, @step, @cycle, @to, @fire, @state, @reason)
     ON CONFLICT (case_id, deadline, step, cycle) DO UPDATE SET recipient = @to, fire_at = @fire, state = @state
     WHERE state <> 'sent' AND (fire_at IS NOT @fire OR state IS NOT @state OR recipient IS NOT @to)`,
  );
  for (const e of s.escalations) {
    step.run({
      case: caseId,
      deadline: e.deadline,
      step: e.step,
      cycle: s.cycle,
      to: e.to,
      fire: e.fireAt,
      state: e.state,
      reason: '{}',
    });
  }
  // Steps of a deadline that no longer escalates (or of ladder steps since removed) stop.
  db.prepare(
    `UPDATE escalations SET state = 'stopped' WHERE case_id = ? AND state = 'pending' AND deadline <> 'outside-expertise'
       AND (step >= ? OR deadline NOT IN (SELECT value FROM json_each(?)))`,
  ).run(caseId, s.ladderLength, JSON.stringify(s.escalating));
  if (s.outsideExpertise !== null) {
    db.prepare(
      `INSERT OR IGNORE INTO escalations (case_id, deadline, step, cycle, recipient, fire_at, state, reason)
       VALUES (?, 'outside-expertise', 0, ?, 'accountable', ?, 'pending', ?)`,
    ).run(caseId, s.cycle, at, JSON.stringify(s.outsideExpertise));
  }
}

/**
 * Keeps the deadlines of the cycle a reopen ends (deadline_history) and clears them for the new
 * cycle, in the reopen's transaction: its verdicts stay in the evidence, none is carried over.
 */
function archiveCycle(db: Db, caseId: string, cycle: EndedCycle, at: string): void {
  db.prepare(
    `INSERT INTO deadline_history (case_id, kind, cycle_started_at, cycle_ended_at, due_at, met_at, state, calendar, policy, archived_at)
     SELECT case_id, kind, ?, ?, due_at, met_at, state, calendar, policy, ? FROM deadlines WHERE case_id = ?
     ON CONFLICT (case_id, kind, cycle_started_at) DO NOTHING`,
  ).run(cycle.startedAt, cycle.endedAt, at, caseId);
  db.prepare('DELETE FROM deadlines WHERE case_id = ?').run(caseId);
}

/** Pending steps whose time has come, oldest first (the `escalations_due` index). */
export function dueEscalations(db: Db, now: Date, limit = 500): number[] {
  return (
    db
      .prepare("SELECT id FROM escalations WHERE state = 'pending' AND fire_at <= ? ORDER BY fire_at LIMIT ?")
      .all(now.toISOString(), limit) as { id: number }[]
  ).map((r) => r.id);
}

/**
 * Sends one due step: claims it (pending → sent) and writes its outbox row and event in one
 * IMMEDIATE transaction, so of several workers exactly one sends it. A step whose deadline was
 * met, whose case closed or went on hold in the meantime is stopped instead. Returns the outbox
 * row id, or null when there is nothing to send.
 */
export function fireEscalation(db: Db, clock: Clock, config: Config, id: number): number | null {
  return db
    .transaction((): number | null => {
      const e = db.prepare("SELECT * FROM escalations WHERE id = ? AND state = 'pending'").get(id) as
        EscalationRow | undefined;
      if (!e) return null;
      const c = loadCaseRow(db, e.case_id);
      // Imported history (issue #15): a historical deadline, or outside expertise for a case
      // opened from history, is recorded, never escalated.
      const deadline =
        e.deadline === 'outside-expertise'
          ? { state: 'open', due_at: e.fire_at, historical: isHistoricalCase(db, e.case_id) ? 1 : 0 }
          : (db
              .prepare('SELECT state, due_at, historical FROM deadlines WHERE case_id = ? AND kind = ?')
              .get(e.case_id, e.deadline) as
              { state: string; due_at: string; historical: number } | undefined);
      if (
        c === null ||
        c.closed_at !== null ||
        c.on_hold === 1 ||
        deadline?.state !== 'open' ||
        deadline.historical === 1
      ) {
        db.prepare("UPDATE escalations SET state = 'stopped' WHERE id = ?").run(id);
        return null;
      }
      const now = clock.now();
      const at = now.toISOString();
      const recipients = escalationRecipients(config, e, c.assignee);
      const first = db
        .prepare(
          "SELECT message_id FROM outbox WHERE case_id = ? AND kind = 'escalation' AND recipients = ? ORDER BY id LIMIT 1",
        )
        .get(e.case_id, JSON.stringify(recipients)) as { message_id: string } | undefined;
      const mail = escalationMail(e, deadline, now);
      const info = db
        .prepare(
          `INSERT INTO outbox (case_id, kind, dedupe_key, recipients, message_id, in_reply_to, refs, subject, payload, created_at)
           VALUES (?, 'escalation', ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
        )
        .run(
          e.case_id,
          `escalation:${id}`,
          JSON.stringify(recipients),
          mintMessageId(e.case_id, 'escalation', mailDomain(config)),
          first?.message_id ?? null,
          first?.message_id ?? null,
          mail.subject,
          JSON.stringify(mail.payload),
          at,
        );
      const outboxId = info.changes > 0 ? Number(info.lastInsertRowid) : null;
      db.prepare("UPDATE escalations SET state = 'sent', sent_at = ?, outbox_id = ? WHERE id = ?").run(
        at,
        outboxId,
        id,
      );
      appendEvent(db, clock, {
        caseId: e.case_id,
        type: 'escalation.sent',
        actor: 'system',
        data: {
          escalationId: id,
          deadline: e.deadline,
          step: e.step,
          to: e.recipient,
          recipients: recipients.length,
        },
      });
      return outboxId;
    })
    .immediate();
}

/**
 * Re-derives the deadlines and escalation steps of every open case whose stored deadlines came
 * from another calendar or policy (or all, with `all`), in batches of one transaction each;
 * `progress` is told after every batch. Returns how many cases were re-derived.
 */
export function rederiveOpenCases(
  db: Db,
  config: Config,
  calendar: Calendar,
  clock: Clock,
  opts: { all?: boolean; batch?: number; progress?: (done: number, total: number) => void } = {},
): number {
  const policy = policyOf(config);
  const ids = (
    db
      .prepare(
        opts.all
          ? "SELECT id FROM cases WHERE stage <> 'closed'"
          : `SELECT DISTINCT c.id FROM cases c LEFT JOIN deadlines d ON d.case_id = c.id
             WHERE c.stage <> 'closed' AND (d.id IS NULL OR d.calendar <> ? OR d.policy <> ?)`,
      )
      .all(...(opts.all ? [] : [calendar.id, policy])) as { id: string }[]
  ).map((r) => r.id);
  const size = opts.batch ?? 1000;
  for (let i = 0; i < ids.length; i += size) {
    const at = clock.now().toISOString();
    db.transaction(() => {
      for (const id of ids.slice(i, i + size)) syncDeadlines(db, id, config, calendar, at);
    }).immediate();
    opts.progress?.(Math.min(i + size, ids.length), ids.length);
  }
  return ids.length;
}
