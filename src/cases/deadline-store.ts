import type { Calendar } from '../calendar/calendar.js';
import type { Resolution, Severity } from '../classify/commands.js';
import type { Stage } from '../commands/lifecycle.js';
import type { CaseState } from '../commands/plan.js';
import type { Config } from '../config/schema.js';
import { mailDomain, securityStaff } from './addresses.js';
import type { Clock } from '../core/clock.js';
import { deriveDeadlines, policyOf, type CaseFacts, DERIVED_KINDS } from '../policy/deadlines.js';
import { outsideExpertiseNeed, planLadder } from '../policy/escalation.js';
import type { EscalationNeed } from '../outbox/kinds/escalation.js';
import type { OutboxPayload } from '../outbox/kinds/index.js';
import type { Db } from './db.js';
import { appendEvent } from './events.js';
import { sanitizeSubject } from './subject.js';

/** Deadlines and escalation steps in SQLite (issue #5): derived, stored, swept. */

export interface CaseRow {
  id: string;
  stage: Stage;
  resolution: Resolution | null;
  severity: Severity | null;
  cvss_vector: string | null;
  cvss_score: number | null;
  assignee: string | null;
  on_hold: number;
  waiting_on_reporter: number;
  tags: string;
  cve: string | null;
  fix_by: string | null;
  disclose_on: string | null;
  advisory_url: string | null;
  credit: string | null;
  external: string;
  reporter_address: string;
  subject: string;
  created_at: string;
  closed_at: string | null;
  reopened_at: string | null;
  triaged_at: string | null;
  verified_at: string | null;
  fixed_at: string | null;
  published_at: string | null;
}

export function loadCaseRow(db: Db, caseId: string): CaseRow | null {
  return (db.prepare('SELECT * FROM cases WHERE id = ?').get(caseId) as CaseRow | undefined) ?? null;
}

export function toState(r: CaseRow): CaseState {
  return {
    id: r.id,
    stage: r.stage,
    resolution: r.resolution,
    severity: r.severity,
    cvssVector: r.cvss_vector,
    cvssScore: r.cvss_score,
    assignee: r.assignee,
    onHold: r.on_hold === 1,
    waitingOnReporter: r.waiting_on_reporter === 1,
    tags: JSON.parse(r.tags) as string[],
    cve: r.cve,
    fixBy: r.fix_by,
    discloseOn: r.disclose_on,
    advisoryUrl: r.advisory_url,
    credit: r.credit,
    external: JSON.parse(r.external) as string[],
    reporterAddress: r.reporter_address,
    closedAt: r.closed_at,
    reopenedAt: r.reopened_at,
    triagedAt: r.triaged_at,
    verifiedAt: r.verified_at,
    fixedAt: r.fixed_at,
    publishedAt: r.published_at,
  };
}

const date = (s: string | null): Date | null => (s === null ? null : new Date(s));

export function factsOf(s: CaseState, createdAt: string, pauses: CaseFacts['pauses']): CaseFacts {
  return {
    createdAt: new Date(createdAt),
    reopenedAt: date(s.reopenedAt),
    closedAt: date(s.closedAt),
    severity: s.severity,
    fixBy: s.fixBy,
    discloseOn: s.discloseOn,
    triagedAt: date(s.triagedAt),
    verifiedAt: date(s.verifiedAt),
    fixedAt: date(s.fixedAt),
    publishedAt: date(s.publishedAt),
    pauses,
  };
}

/**
 * Re-derives a case's stage deadlines from its facts and the pauses in its event log, writes the
 * difference with the calendar and policy that produced it, and re-plans its escalation steps.
 * A deadline the facts no longer call for is cancelled; a closed case's acknowledge deadline, if
 * still open, is cancelled too. Runs inside the caller's transaction.
 */
export function syncDeadlines(db: Db, caseId: string, config: Config, calendar: Calendar, at: string): void {
  const row = loadCaseRow(db, caseId);
  if (row === null) return;
  const derived = deriveDeadlines(
    factsOf(toState(row), row.created_at, pausesOf(db, caseId)),
    config.deadlines,
    calendar,
    new Date(at),
  );
  const policy = policyOf(config);
  const upsert = db.prepare(
    `INSERT INTO deadlines (case_id, kind, due_at, state, met_at, calendar, policy, updated_at)
     VALUES (@case, @kind, @due, @state, @met, @calendar, @policy, @at)
     ON CONFLICT (case_id, kind) DO UPDATE SET due_at = @due, state = @state, met_at = @met,
       calendar = @calendar, policy = @policy, updated_at = @at
     WHERE due_at IS NOT @due OR state IS NOT @state OR met_at IS NOT @met OR calendar IS NOT @calendar OR policy IS NOT @policy`,
  );
  for (const d of derived) {
    upsert.run({
      case: caseId,
      kind: d.kind,
      due: d.dueAt.toISOString(),
      state: d.state,
      met: d.metAt?.toISOString() ?? null,
      calendar: calendar.id,
      policy,
      at,
    });
  }
  const kept = new Set<string>(derived.map((d) => d.kind));
  for (const kind of DERIVED_KINDS.filter((k) => !kept.has(k))) {
    db.prepare(
      "UPDATE deadlines SET state = 'cancelled', updated_at = ? WHERE case_id = ? AND kind = ? AND state = 'open'",
    ).run(at, caseId, kind);
  }
  if (row.closed_at !== null) {
    db.prepare(
      "UPDATE deadlines SET state = 'cancelled', updated_at = ? WHERE case_id = ? AND kind = 'acknowledge' AND state = 'open'",
    ).run(at, caseId);
  }
  syncEscalations(db, caseId, config, calendar, at);
}

/**
 * The pauses of a case from its event log: waiting on the reporter (`case.waiting-on-reporter`)
 * and holds (`case.hold`), merged into intervals when they overlap.
 */
export function pausesOf(db: Db, caseId: string): CaseFacts['pauses'] {
  const rows = db
    .prepare(
      "SELECT at, type, data FROM events WHERE case_id = ? AND type IN ('case.waiting-on-reporter', 'case.hold') ORDER BY id",
    )
    .all(caseId) as { at: string; type: string; data: string }[];
  const raw: { from: Date; to: Date | null }[] = [];
  const open: Record<string, Date | null> = { 'case.waiting-on-reporter': null, 'case.hold': null };
  for (const r of rows) {
    const d = JSON.parse(r.data) as { waiting?: boolean; onHold?: boolean };
    const on = r.type === 'case.hold' ? d.onHold === true : d.waiting === true;
    const started = open[r.type] ?? null;
    if (on && started === null) open[r.type] = new Date(r.at);
    if (!on && started !== null) {
      raw.push({ from: started, to: new Date(r.at) });
      open[r.type] = null;
    }
  }
  for (const started of Object.values(open)) if (started) raw.push({ from: started, to: null });
  raw.sort((x, y) => x.from.getTime() - y.from.getTime());
  const merged: { from: Date; to: Date | null }[] = [];
  for (const p of raw) {
    const last = merged.at(-1);
    if (last && (last.to === null || last.to.getTime() >= p.from.getTime())) {
      last.to =
        last.to === null || p.to === null ? null : new Date(Math.max(last.to.getTime(), p.to.getTime()));
    } else merged.push({ ...p });
  }
  return merged;
}

/**
 * Plans the escalation steps of a case's deadlines (escalation.ladder) and its outside-expertise
 * call. A step already sent is never touched again; the others are pending while their deadline
 * is open and the case not on hold, and stopped otherwise.
 */
export function syncEscalations(
  db: Db,
  caseId: string,
  config: Config,
  calendar: Calendar,
  at: string,
): void {
  const row = loadCaseRow(db, caseId);
  if (row === null) return;
  const cycle = row.reopened_at ?? '';
  const upsert = db.prepare(
    `INSERT INTO escalations (case_id, deadline, step, cycle, recipient, fire_at, state, reason)
     VALUES (@case, @deadline, @step, @cycle, @to, @fire, @state, @reason)
     ON CONFLICT (case_id, deadline, step, cycle) DO UPDATE SET recipient = @to, fire_at = @fire, state = @state
     WHERE state <> 'sent' AND (fire_at IS NOT @fire OR state IS NOT @state OR recipient IS NOT @to)`,
  );
  const deadlines = db.prepare('SELECT kind, due_at, state FROM deadlines WHERE case_id = ?').all(caseId) as {
    kind: string;
    due_at: string;
    state: string;
  }[];
  for (const d of deadlines) {
    if (!(config.escalation.deadlines as readonly string[]).includes(d.kind)) continue;
    const active = d.state === 'open' && row.on_hold === 0 && row.closed_at === null;
    for (const s of planLadder(new Date(d.due_at), config.escalation.ladder, calendar)) {
      upsert.run({
        case: caseId,
        deadline: d.kind,
        step: s.step,
        cycle,
        to: s.to,
        fire: s.fireAt.toISOString(),
        state: active ? 'pending' : 'stopped',
        reason: '{}',
      });
    }
  }
  // Steps of a deadline that no longer escalates (or of ladder steps since removed) stop.
  db.prepare(
    `UPDATE escalations SET state = 'stopped' WHERE case_id = ? AND state = 'pending' AND deadline <> 'outside-expertise'
       AND (step >= ? OR deadline NOT IN (SELECT value FROM json_each(?)))`,
  ).run(caseId, config.escalation.ladder.length, JSON.stringify(config.escalation.deadlines));
  const fix = deadlines.find((d) => d.kind === 'fix' && d.state !== 'cancelled');
  const need = outsideExpertiseNeed(
    {
      tags: JSON.parse(row.tags) as string[],
      createdAt: new Date(row.created_at),
      fixDue: fix ? new Date(fix.due_at) : null,
    },
    config.escalation.outside_expertise,
  );
  if (need !== null && row.closed_at === null) {
    db.prepare(
      `INSERT OR IGNORE INTO escalations (case_id, deadline, step, cycle, recipient, fire_at, state, reason)
       VALUES (?, 'outside-expertise', 0, ?, 'accountable', ?, 'pending', ?)`,
    ).run(caseId, cycle, at, JSON.stringify(need));
  }
}

/** Pending steps whose time has come, oldest first (the `escalations_due` index). */
export function dueEscalations(db: Db, now: Date, limit = 500): number[] {
  return (
    db
      .prepare("SELECT id FROM escalations WHERE state = 'pending' AND fire_at <= ? ORDER BY fire_at LIMIT ?")
      .all(now.toISOString(), limit) as { id: number }[]
  ).map((r) => r.id);
}

interface EscalationRow {
  id: number;
  case_id: string;
  deadline: string;
  step: number;
  recipient: 'assignee' | 'oncall' | 'accountable';
  fire_at: string;
  state: string;
  reason: string;
}

/**
 * Sends one due step: claims it (pending → sent) and writes its outbox row and event in one
 * IMMEDIATE transaction, so of several workers exactly one sends it. A step whose deadline was
 * met, whose case closed or went on hold in the meantime is stopped instead. Returns the outbox
 * row id, or null when there is nothing to send.
 */
export function fireEscalation(
  db: Db,
  clock: Clock,
  config: Config,
  id: number,
  mintId: (caseId: string, kind: string, domain: string) => string,
): number | null {
  return db
    .transaction((): number | null => {
      const e = db.prepare("SELECT * FROM escalations WHERE id = ? AND state = 'pending'").get(id) as
        EscalationRow | undefined;
      if (!e) return null;
      const c = loadCaseRow(db, e.case_id);
      const deadline =
        e.deadline === 'outside-expertise'
          ? { state: 'open', due_at: e.fire_at }
          : (db
              .prepare('SELECT state, due_at FROM deadlines WHERE case_id = ? AND kind = ?')
              .get(e.case_id, e.deadline) as { state: string; due_at: string } | undefined);
      if (c === null || c.closed_at !== null || c.on_hold === 1 || deadline?.state !== 'open') {
        db.prepare("UPDATE escalations SET state = 'stopped' WHERE id = ?").run(id);
        return null;
      }
      const now = clock.now();
      const at = now.toISOString();
      const recipients =
        e.recipient === 'oncall'
          ? [config.escalation.oncall_address.toLowerCase()]
          : e.recipient === 'accountable'
            ? [config.escalation.accountable_address.toLowerCase()]
            : c.assignee !== null
              ? [c.assignee]
              : securityStaff(config);
      const first = db
        .prepare(
          "SELECT message_id FROM outbox WHERE case_id = ? AND kind = 'escalation' AND recipients = ? ORDER BY id LIMIT 1",
        )
        .get(e.case_id, JSON.stringify(recipients)) as { message_id: string } | undefined;
      const late = now.getTime() >= Date.parse(deadline.due_at);
      const what =
        e.deadline === 'outside-expertise'
          ? 'outside expertise needed'
          : `${e.deadline} deadline ${late ? 'missed' : 'due soon'}`;
      const info = db
        .prepare(
          `INSERT INTO outbox (case_id, kind, dedupe_key, recipients, message_id, in_reply_to, refs, subject, payload, created_at)
           VALUES (?, 'escalation', ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
        )
        .run(
          e.case_id,
          `escalation:${id}`,
          JSON.stringify(recipients),
          mintId(e.case_id, 'escalation', mailDomain(config)),
          first?.message_id ?? null,
          first?.message_id ?? null,
          // Never the report's subject: escalations carry ids, stages and deadlines only.
          sanitizeSubject(`[${e.case_id}] Escalation: ${what}`),
          JSON.stringify({
            template: e.deadline === 'outside-expertise' ? 'outside-expertise' : 'escalation',
            messageRowId: 0,
            autoSubmitted: 'auto-generated',
            flags: [],
            escalationId: id,
            deadline: e.deadline,
            dueAt: deadline.due_at,
            step: e.step,
            recipientRole: e.recipient,
            need: JSON.parse(e.reason) as EscalationNeed,
          } satisfies OutboxPayload),
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
