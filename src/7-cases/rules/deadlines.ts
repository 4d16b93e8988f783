import type { Calendar } from '../../calendar/calendar.js';
import type { CaseState } from '../../6-commands/plan.js';
import type { Config } from '../../config/schema.js';
import {
  deriveDeadlines,
  policyOf,
  DERIVED_KINDS,
  PAUSE_EVENTS,
  pausesFrom,
  type PauseEvent,
} from '../../policy/deadlines.js';
import { outsideExpertiseNeed, planLadder, type OutsideExpertiseNeed } from '../../policy/escalation.js';
import { factsOf } from './case-row.js';

/** A stored deadline as the sync sees it. */
export interface DeadlineRow {
  kind: string;
  due_at: string;
  state: string;
}

// The pause events are read by the store's SQL and the evidence too (src/policy, pure).
export { PAUSE_EVENTS, pausesFrom, type PauseEvent };

/** What the sync of one case's deadlines reads: the case after the change, its deadlines and pauses. */
export interface DeadlineFacts {
  state: CaseState;
  createdAt: string;
  /** The stored deadlines after the change's acknowledge effect, in any order. */
  deadlines: readonly DeadlineRow[];
  /** Its pause events in log order (those of the change last). */
  pauses: readonly PauseEvent[];
  /**
   * Set when the change reopens the case: the cycle that ends, whose stored deadlines are kept
   * in the history and replaced by the new cycle's (which has no acknowledge deadline: the
   * reporter was answered in the first).
   */
  endsCycle?: EndedCycle;
}

/** A cycle of a case ended by /reopen: when its clock started (received or reopened) and it closed. */
export interface EndedCycle {
  startedAt: string;
  endedAt: string;
}

export interface EscalationStep {
  deadline: string;
  step: number;
  to: string;
  fireAt: string;
  state: 'pending' | 'stopped';
}

/** What the store writes to bring a case's deadlines and escalation steps in line (one SQL each). */
export interface DeadlineSync {
  caseId: string;
  at: string;
  /** The cycle whose deadlines move to the history before the upserts (a reopen), or null. */
  archive: EndedCycle | null;
  calendarId: string;
  policy: string;
  upserts: { kind: string; dueAt: string; state: string; metAt: string | null }[];
  /** Kinds whose deadline is cancelled if still open. */
  cancel: string[];
  escalations: EscalationStep[];
  /** Pending steps at or past this ladder step, or of deadlines not in `escalating`, stop. */
  ladderLength: number;
  escalating: readonly string[];
  cycle: string;
  outsideExpertise: OutsideExpertiseNeed | null;
  /** The deadlines as they stand after the sync (for the confirmation's snapshot). */
  after: DeadlineRow[];
}

/**
 * Re-derives a case's stage deadlines from its facts and pauses, and plans its escalation steps
 * (escalation.ladder) and outside-expertise call against the deadlines that result. A deadline the
 * facts no longer call for is cancelled; a closed case's acknowledge deadline, if still open, is
 * cancelled too. A step already sent is never touched again (the store's SQL keeps it); the others
 * are pending while their deadline is open and the case not on hold, and stopped otherwise.
 */
export function planDeadlineSync(
  f: DeadlineFacts,
  config: Config,
  calendar: Calendar,
  at: string,
): DeadlineSync {
  const s = f.state;
  const derived = deriveDeadlines(
    factsOf(s, f.createdAt, pausesFrom(f.pauses)),
    config.deadlines,
    calendar,
    new Date(at),
  );
  const upserts = derived.map((d) => ({
    kind: d.kind,
    dueAt: d.dueAt.toISOString(),
    state: d.state,
    metAt: d.metAt?.toISOString() ?? null,
  }));
  const kept = new Set<string>(derived.map((d) => d.kind));
  const cancel: string[] = DERIVED_KINDS.filter((k) => !kept.has(k));
  if (s.closedAt !== null) cancel.push('acknowledge');
  const after = deadlinesAfter(f.endsCycle === undefined ? f.deadlines : [], upserts, cancel);
  const active = (d: DeadlineRow): boolean => d.state === 'open' && !s.onHold && s.closedAt === null;
  const escalations = after
    .filter((d) => (config.escalation.deadlines as readonly string[]).includes(d.kind))
    .flatMap((d) =>
      planLadder(new Date(d.due_at), config.escalation.ladder, calendar).map((step): EscalationStep => ({
        deadline: d.kind,
        step: step.step,
        to: step.to,
        fireAt: step.fireAt.toISOString(),
        state: active(d) ? 'pending' : 'stopped',
      })),
    );
  const fix = after.find((d) => d.kind === 'fix' && d.state !== 'cancelled');
  const need = outsideExpertiseNeed(
    { tags: s.tags, createdAt: new Date(f.createdAt), fixDue: fix ? new Date(fix.due_at) : null },
    config.escalation.outside_expertise,
  );
  return {
    caseId: s.id,
    at,
    archive: f.endsCycle ?? null,
    calendarId: calendar.id,
    policy: policyOf(config),
    upserts,
    cancel,
    escalations,
    ladderLength: config.escalation.ladder.length,
    escalating: config.escalation.deadlines,
    cycle: s.reopenedAt ?? '',
    outsideExpertise: need !== null && s.closedAt === null ? need : null,
    after,
  };
}

/**
 * The deadlines after the upserts and cancellations, ordered by kind as the store's
 * `(case_id, kind)` index returns them.
 */
function deadlinesAfter(
  before: readonly DeadlineRow[],
  upserts: DeadlineSync['upserts'],
  cancel: readonly string[],
): DeadlineRow[] {
  const rows = new Map(before.map((d) => [d.kind, { ...d }]));
  for (const u of upserts) rows.set(u.kind, { kind: u.kind, due_at: u.dueAt, state: u.state });
  for (const kind of cancel) {
    const d = rows.get(kind);
    if (d?.state === 'open') d.state = 'cancelled';
  }
  return [...rows.values()].sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
}
