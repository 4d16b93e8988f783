import { createHash } from 'node:crypto';
import type { Calendar } from '../calendar/calendar.js';
import type { Config } from '../config/schema.js';
import type { Severity } from '../core/vocabulary.js';

export type DeadlinePolicy = Config['deadlines'];

/** The stage-deadlines the policy derives from a case (acknowledge is met by the mailer). */
export const DERIVED_KINDS = ['triage', 'verify', 'fix', 'disclose'] as const;
export type DerivedKind = (typeof DERIVED_KINDS)[number];

/** What a case's deadlines depend on: its dates as recorded by the events that set them. */
export interface CaseFacts {
  createdAt: Date;
  /** Set by /reopen: the triage and verify clocks start again from here. */
  reopenedAt: Date | null;
  closedAt: Date | null;
  severity: Severity | null;
  /** Agreed fix date, YYYY-MM-DD (overrides the policy for the severity). */
  fixBy: string | null;
  /** Agreed disclosure date, YYYY-MM-DD. */
  discloseOn: string | null;
  triagedAt: Date | null;
  verifiedAt: Date | null;
  fixedAt: Date | null;
  publishedAt: Date | null;
  /**
   * When the clock stood still — waiting on the reporter (`/pause` until their reply) or on hold
   * — from the event log, oldest first; `to` is null while it still stands.
   */
  pauses: { from: Date; to: Date | null }[];
}

/** An event that starts or ends a pause (`case.waiting-on-reporter`, `case.hold`), data parsed. */
export interface PauseEvent {
  at: string;
  type: string;
  data: { waiting?: unknown; onHold?: unknown };
}

export const PAUSE_EVENTS: readonly string[] = ['case.waiting-on-reporter', 'case.hold'];

/**
 * The pauses of a case from its event log: waiting on the reporter (`case.waiting-on-reporter`)
 * and holds (`case.hold`), merged into intervals when they overlap.
 */
export function pausesFrom(rows: readonly PauseEvent[]): CaseFacts['pauses'] {
  const raw: { from: Date; to: Date | null }[] = [];
  const open = new Map<string, Date | null>([
    ['case.waiting-on-reporter', null],
    ['case.hold', null],
  ]);
  // Only the pause events: any other would read as one that ends a wait.
  for (const r of rows.filter((x) => PAUSE_EVENTS.includes(x.type))) {
    const on = r.type === 'case.hold' ? r.data.onHold === true : r.data.waiting === true;
    const started = open.get(r.type) ?? null;
    if (on && started === null) open.set(r.type, new Date(r.at));
    if (!on && started !== null) {
      raw.push({ from: started, to: new Date(r.at) });
      open.set(r.type, null);
    }
  }
  for (const started of open.values()) if (started) raw.push({ from: started, to: null });
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

export interface DerivedDeadline {
  kind: DerivedKind;
  dueAt: Date;
  state: 'open' | 'met' | 'cancelled' | 'paused';
  metAt: Date | null;
}

/**
 * A short digest of the policy — the deadlines and the escalation ladder — recorded with every
 * deadline it produced: when it changes, the service derives the open cases again at start.
 */
export function policyOf(config: Pick<Config, 'deadlines' | 'escalation'>): string {
  const { deadlines, escalation } = config;
  const policy = {
    deadlines,
    ladder: escalation.ladder,
    escalating: escalation.deadlines,
    outside: escalation.outside_expertise,
  };
  return createHash('sha256').update(JSON.stringify(policy)).digest('hex').slice(0, 12);
}

/**
 * Derives the stage deadlines of one case from its facts (DESIGN.md "Case lifecycle"). Pure and
 * total: the same facts, policy and calendar always give the same deadlines, so a policy or
 * calendar change is applied by deriving again.
 *   triage    report received (or reopened) + deadlines.triage; met by /triage (or /verified)
 *   verify    report received (or reopened) + deadlines.verify; met by /verified
 *   fix       the /fix-by date, else report received (or reopened) + deadlines.fix[severity]; met
 *             by /fixed.
 *             No severity yet (or severity none) and no /fix-by date: no fix deadline.
 *   disclose  the /disclose date, else fixed + deadlines.disclose; met by /publish
 * A closed case has no open deadline: each one not met is cancelled. Time the clock stood still
 * (waiting on the reporter, a hold) after the clock started moves a deadline out by as long;
 * while it still stands an unmet deadline is `paused` (its due time as if it resumed now). A met
 * deadline keeps the due time those pauses gave it up to when it was met (a pause still running
 * then counts up to that instant), so a stage done late only because of a pause is met.
 */
export function deriveDeadlines(
  facts: CaseFacts,
  policy: DeadlinePolicy,
  calendar: Calendar,
  now: Date,
): DerivedDeadline[] {
  const start = facts.reopenedAt ?? facts.createdAt;
  const out: DerivedDeadline[] = [];
  const push = (kind: DerivedKind, due: Date, metAt: Date | null): void => {
    if (metAt !== null) {
      // Judged against the due time it had when it was met: the pauses up to then moved it.
      const until = pausesUntil(facts.pauses, metAt);
      out.push({ kind, dueAt: afterPauses(due, start, until, metAt).dueAt, state: 'met', metAt });
      return;
    }
    const { dueAt, paused } = afterPauses(due, start, facts.pauses, now);
    const state = facts.closedAt !== null ? 'cancelled' : paused ? 'paused' : 'open';
    out.push({ kind, dueAt, state, metAt });
  };
  push('triage', calendar.add(start, policy.triage), facts.triagedAt ?? facts.verifiedAt);
  push('verify', calendar.add(start, policy.verify), facts.verifiedAt);
  const fixDue =
    facts.fixBy !== null
      ? calendar.endOfDay(facts.fixBy)
      : facts.severity !== null && facts.severity !== 'none'
        ? calendar.add(start, { amount: policy.fix[facts.severity], unit: policy.fix.unit })
        : null;
  if (fixDue !== null) push('fix', fixDue, facts.fixedAt);
  const discloseDue =
    facts.discloseOn !== null
      ? calendar.endOfDay(facts.discloseOn)
      : facts.fixedAt !== null
        ? calendar.add(facts.fixedAt, policy.disclose)
        : null;
  if (discloseDue !== null) push('disclose', discloseDue, facts.publishedAt);
  return out;
}

/** The pauses as they stood at `at`: those begun before it, each ended by then at the latest. */
export function pausesUntil(pauses: CaseFacts['pauses'], at: Date): CaseFacts['pauses'] {
  return pauses
    .filter((p) => p.from.getTime() < at.getTime())
    .map((p) => ({ from: p.from, to: p.to === null || p.to.getTime() > at.getTime() ? at : p.to }));
}

/** Moves `due` out by every pause that began before it (and after `start`). */
function afterPauses(
  due: Date,
  start: Date,
  pauses: CaseFacts['pauses'],
  now: Date,
): { dueAt: Date; paused: boolean } {
  let d = due.getTime();
  let paused = false;
  for (const p of pauses) {
    // A pause still running holds the deadline (and its ladder) even when it began after it.
    if (p.to === null) paused = true;
    if (p.from.getTime() >= d) continue;
    const from = Math.max(p.from.getTime(), start.getTime());
    const to = (p.to ?? now).getTime();
    if (to > from) d += to - from;
  }
  return { dueAt: new Date(d), paused };
}
