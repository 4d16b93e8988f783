import type { Calendar } from '../calendar/calendar.js';
import type { StaffMember } from '../config/schema.js';
import { staffByAddress } from '../core/staff.js';
import { pausesFrom, type CaseFacts } from '../policy/deadlines.js';
import type {
  EvidenceCaseRow,
  EvidenceCustomerNotice,
  EvidenceCycleDeadline,
  EvidenceDeadline,
  EvidenceEvent,
  EvidencePeriod,
} from '../7-cases/evidence-store.js';
import type { CaseChainVerdict } from '../7-cases/events.js';

/**
 * The per-case part of the evidence pack (issue #12): each stage of the procedure with its
 * deadline met or missed and by how many business days of the configured calendar. Pure: the
 * rows read by src/7-cases, the calendar and the export time in, the verdicts out.
 */

/** The stage deadlines, in the order the procedure runs them (deadlines.kind). */
export const EVIDENCE_STAGES = ['acknowledge', 'triage', 'verify', 'fix', 'disclose'] as const;
export type EvidenceStage = (typeof EVIDENCE_STAGES)[number];

/**
 * How one stage went:
 *   met        done by its due time; `businessDays` is the margin (≥ 0)
 *   missed     done after it (`doneAt`), not done while the case is still open (`stillOpen`),
 *              or the case closed without it after it was due; `businessDays` is the lateness
 *              (at `doneAt`, at the export for a still open one, at the close otherwise)
 *   open       not due yet at the export; `businessDays` is the time left
 *   paused     the clock stands (waiting on the reporter, on hold)
 *   cancelled  the case closed before it was due
 *   none       the stage never had a deadline (e.g. no severity, so no fix deadline)
 *   historical imported from old mail (`psirt import`, issue #15): the deadline was derived from
 *              the original dates after the fact; nobody worked to it, so it is neither met nor
 *              missed and the SLA summary leaves it out
 */
export type StageVerdict = 'met' | 'missed' | 'open' | 'paused' | 'cancelled' | 'none' | 'historical';

export interface StageResult {
  stage: EvidenceStage;
  verdict: StageVerdict;
  dueAt: string | null;
  doneAt: string | null;
  /** Margin (met), lateness (missed), time left (open); business days, two decimals. */
  businessDays: number | null;
  /** Missed and not done while the case is open: still late at the export. */
  stillOpen: boolean;
  /**
   * Business days from the stage's start (received or reopened; fixed for disclose) to done,
   * less the business time the clock stood still (waiting on the reporter, on hold) in between.
   */
  takenBusinessDays: number | null;
  /** Which policy and calendar digests produced the due time (deadlines.policy, .calendar). */
  policy: string | null;
  calendar: string | null;
}

export interface ChainResult {
  ok: boolean;
  events: number;
  headEventId: number | null;
  headHash: string | null;
  broken: { eventId: number; reason: string } | null;
}

/**
 * A cycle of a case that /reopen ended: its stages judged against the deadlines it had then
 * (deadline_history), so a miss stays in the evidence whatever happened after.
 */
export interface CycleEvidence {
  /** 1 for the cycle from the report, 2 from the first reopen, … */
  cycle: number;
  /** "cycle 1 (received 2026-11-02)", "cycle 2 (reopened 2026-11-20)". */
  label: string;
  startedAt: string;
  endedAt: string;
  stages: StageResult[];
}

export interface CaseEvidence {
  id: string;
  stage: string;
  resolution: string | null;
  duplicateOf: string | null;
  /** Opened by `psirt import` from old mail (issue #15): its imported stages are `historical`. */
  imported: boolean;
  onHold: boolean;
  /**
   * The legal hold in force at the export (issue #13): the staff-written reason, since when and
   * by whom (name when configured); null when not held. A hold older than #13 has no reason.
   */
  legalHold: { reason: string | null; since: string | null; by: string | null } | null;
  /** Every hold and release of the case in the period's events, oldest first. */
  holdHistory: { at: string; onHold: boolean; reason: string | null; by: string }[];
  waitingOnReporter: boolean;
  severity: string | null;
  cvss: { score: number | null; vector: string | null };
  assignee: { address: string; name: string | null } | null;
  received: string;
  acknowledged: string | null;
  triaged: string | null;
  verified: string | null;
  fixDue: string | null;
  fixed: string | null;
  disclosureAgreed: string | null;
  published: string | null;
  closed: string | null;
  reopened: string | null;
  outsideExpertise: { organisations: string[]; escalatedAt: string[] };
  /** Customers told of which advisory revision, when (issue #14, `/notify`). */
  customersNotified: {
    customer: string;
    address: string;
    revision: number;
    encrypted: boolean;
    queuedAt: string;
    sentAt: string | null;
  }[];
  /** The stages of the current cycle (since the report, or since the last reopen). */
  stages: StageResult[];
  /** The current cycle's label when the case was reopened ("cycle 2 (reopened …)"), else null. */
  cycleLabel: string | null;
  /** The cycles before the last reopen, oldest first; empty for a case never reopened. */
  earlierCycles: CycleEvidence[];
  chain: ChainResult;
  /** When the retention purge removed the case's content, and the policy (years) it applied (#13). */
  purged: { at: string; policyYears: number | null } | null;
  events: { id: number; at: string; type: string; actor: string; detail: Record<string, string | boolean> }[];
  subject?: string;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

/** One stage's verdict from its stored deadline, at export time `now`. */
export function judgeStage(
  stage: EvidenceStage,
  deadline: EvidenceDeadline | undefined,
  c: Pick<EvidenceCaseRow, 'created_at' | 'reopened_at' | 'fixed_at' | 'closed_at'>,
  calendar: Calendar,
  now: Date,
  pauses: CaseFacts['pauses'] = [],
): StageResult {
  const base = { stage, stillOpen: false, takenBusinessDays: null, doneAt: null };
  if (deadline === undefined)
    return { ...base, verdict: 'none', dueAt: null, businessDays: null, policy: null, calendar: null };
  const due = new Date(deadline.due_at);
  const known = { dueAt: deadline.due_at, policy: deadline.policy, calendar: deadline.calendar };
  if (deadline.historical === true)
    return { ...base, ...known, doneAt: deadline.met_at, verdict: 'historical', businessDays: null };
  const days = (a: Date, b: Date): number => round2(calendar.businessDaysBetween(a, b));
  if (deadline.met_at !== null) {
    const done = new Date(deadline.met_at);
    const started = stage === 'disclose' ? c.fixed_at : (c.reopened_at ?? c.created_at);
    const taken =
      started === null
        ? null
        : Math.max(
            0,
            round2(days(new Date(started), done) - pausedDays(pauses, new Date(started), done, calendar)),
          );
    const late = done.getTime() > due.getTime();
    return {
      ...base,
      ...known,
      doneAt: deadline.met_at,
      verdict: late ? 'missed' : 'met',
      businessDays: late ? days(due, done) : days(done, due),
      takenBusinessDays: taken,
    };
  }
  if (deadline.state === 'paused') return { ...base, ...known, verdict: 'paused', businessDays: null };
  const closedAt = c.closed_at === null ? null : new Date(c.closed_at);
  if (closedAt !== null || deadline.state === 'cancelled') {
    const end = closedAt ?? now;
    if (end.getTime() <= due.getTime())
      return { ...base, ...known, verdict: 'cancelled', businessDays: null };
    return { ...base, ...known, verdict: 'missed', businessDays: days(due, end) };
  }
  if (now.getTime() > due.getTime())
    return { ...base, ...known, verdict: 'missed', stillOpen: true, businessDays: days(due, now) };
  return { ...base, ...known, verdict: 'open', businessDays: days(now, due) };
}

/** Business days of [from, to] the clock stood still (the pauses clipped to it). */
function pausedDays(pauses: CaseFacts['pauses'], from: Date, to: Date, calendar: Calendar): number {
  let sum = 0;
  for (const p of pauses) {
    const a = Math.max(p.from.getTime(), from.getTime());
    const b = Math.min((p.to ?? to).getTime(), to.getTime());
    if (b > a) sum += calendar.businessDaysBetween(new Date(a), new Date(b));
  }
  return sum;
}

/** The human words for a stage result: "missed, still open, 3 business days late". */
export function describeStage(r: StageResult): string {
  // Rounded to 0.01 business days; a nonzero lateness below that is not shown as "0" (#12 trial).
  const n = (d: number | null): string =>
    d === null || d === 0 ? 'under 0.01 business days' : `${String(d)} business day${d === 1 ? '' : 's'}`;
  switch (r.verdict) {
    case 'met':
      return r.businessDays === 0 ? 'met, on the due time' : `met, ${n(r.businessDays)} early`;
    case 'missed':
      if (r.stillOpen) return `missed, still open, ${n(r.businessDays)} late`;
      if (r.doneAt === null) return `missed, closed without it, ${n(r.businessDays)} late`;
      return `missed, ${n(r.businessDays)} late`;
    case 'open':
      return `open, ${n(r.businessDays)} left`;
    case 'paused':
      return 'paused (waiting on the reporter or on hold)';
    case 'cancelled':
      return 'cancelled: the case closed before it was due';
    case 'none':
      return 'no deadline';
    case 'historical':
      return 'historical: imported from old mail, not judged';
  }
}

/** The chain verdict of a case; a case without any event in the chain is itself a break. */
export function chainOf(verdict: CaseChainVerdict | undefined): ChainResult {
  if (verdict === undefined)
    return {
      ok: false,
      events: 0,
      headEventId: null,
      headHash: null,
      broken: { eventId: 0, reason: 'no event of this case is in the chain' },
    };
  return {
    ok: verdict.broken === null,
    events: verdict.events,
    headEventId: verdict.headEventId,
    headHash: verdict.headHash,
    broken: verdict.broken,
  };
}

export interface AnalyseOptions {
  calendar: Calendar;
  staff: readonly StaffMember[];
  now: Date;
  chains: ReadonlyMap<string, CaseChainVerdict>;
  /** Called after each case (progress on long exports). */
  onCase?: (done: number, total: number) => void;
}

/** Every case of the period with its stages judged; cases with a broken chain first. */
export function analyseCases(period: EvidencePeriod, opts: AnalyseOptions): CaseEvidence[] {
  const byCase = <T extends { case_id: string }>(rows: readonly T[]): Map<string, T[]> => {
    const m = new Map<string, T[]>();
    for (const r of rows) m.set(r.case_id, [...(m.get(r.case_id) ?? []), r]);
    return m;
  };
  const deadlines = byCase(period.deadlines);
  const earlier = byCase(period.earlierDeadlines);
  const events = byCase(period.events);
  const calls = byCase(period.expertCalls);
  const notices = byCase(period.customerNotifications ?? []);
  const out = period.cases.map((c, i) => {
    const result = analyseCase(
      c,
      deadlines.get(c.id) ?? [],
      events.get(c.id) ?? [],
      (calls.get(c.id) ?? []).map((x) => x.sent_at),
      opts,
      earlier.get(c.id) ?? [],
      notices.get(c.id) ?? [],
    );
    opts.onCase?.(i + 1, period.cases.length);
    return result;
  });
  return [...out.filter((c) => !c.chain.ok), ...out.filter((c) => c.chain.ok)];
}

export function analyseCase(
  c: EvidenceCaseRow,
  deadlines: readonly EvidenceDeadline[],
  events: readonly EvidenceEvent[],
  expertCalls: readonly string[],
  opts: Pick<AnalyseOptions, 'calendar' | 'staff' | 'now' | 'chains'>,
  earlierDeadlines: readonly EvidenceCycleDeadline[] = [],
  customerNotices: readonly EvidenceCustomerNotice[] = [],
): CaseEvidence {
  const of = (kind: EvidenceStage): EvidenceDeadline | undefined => deadlines.find((d) => d.kind === kind);
  const pauses = pausesFrom(events.map((e) => ({ at: e.at, type: e.type, data: e.detail })));
  const earlierCycles = cyclesOf(c, earlierDeadlines, pauses, opts);
  const first = earlierCycles[0]?.stages.find((s) => s.stage === 'acknowledge');
  const member = c.assignee === null ? undefined : staffByAddress(opts.staff, c.assignee);
  const actorOf = (e: EvidenceEvent): string => {
    if (e.actor !== 'staff' || e.staff === null) return e.actor;
    return `staff: ${staffByAddress(opts.staff, e.staff)?.name ?? e.staff}`;
  };
  return {
    id: c.id,
    stage: c.stage,
    resolution: c.resolution,
    duplicateOf: c.duplicate_of,
    imported: c.imported === true,
    onHold: c.on_hold,
    legalHold: c.on_hold
      ? {
          reason: c.hold_reason,
          since: c.held_at,
          by: c.held_by === null ? null : (staffByAddress(opts.staff, c.held_by)?.name ?? c.held_by),
        }
      : null,
    holdHistory: events
      .filter((e) => e.type === 'case.hold')
      .map((e) => ({
        at: e.at,
        onHold: e.detail.onHold === true,
        reason: typeof e.detail.reason === 'string' ? e.detail.reason : null,
        by: actorOf(e),
      })),
    waitingOnReporter: c.waiting_on_reporter,
    severity: c.severity,
    cvss: { score: c.cvss_score, vector: c.cvss_vector },
    assignee: c.assignee === null ? null : { address: c.assignee, name: member?.name ?? null },
    received: c.created_at,
    acknowledged: of('acknowledge')?.met_at ?? first?.doneAt ?? null,
    triaged: c.triaged_at,
    verified: c.verified_at,
    fixDue: of('fix')?.due_at ?? null,
    fixed: c.fixed_at,
    disclosureAgreed: c.disclose_on,
    published: c.published_at,
    closed: c.closed_at,
    reopened: c.reopened_at,
    outsideExpertise: { organisations: c.external, escalatedAt: [...expertCalls] },
    customersNotified: customerNotices.map((n) => ({
      customer: n.customer,
      address: n.address,
      revision: n.revision,
      encrypted: n.encrypted,
      queuedAt: n.queued_at,
      sentAt: n.sent_at,
    })),
    stages: EVIDENCE_STAGES.map((s) => judgeStage(s, of(s), c, opts.calendar, opts.now, pauses)),
    cycleLabel:
      earlierCycles.length === 0 || c.reopened_at === null
        ? null
        : cycleLabel(earlierCycles.length + 1, 'reopened', c.reopened_at, opts.calendar),
    earlierCycles,
    chain: chainOf(opts.chains.get(c.id)),
    purged:
      c.purged_at === undefined || c.purged_at === null
        ? null
        : { at: c.purged_at, policyYears: c.purge_policy_years ?? null },
    events: events.map((e) => ({ id: e.id, at: e.at, type: e.type, actor: actorOf(e), detail: e.detail })),
    ...(c.subject === undefined ? {} : { subject: c.subject }),
  };
}

/** "cycle 2 (reopened 2026-11-20)": the day in the calendar's zone. */
function cycleLabel(n: number, how: 'received' | 'reopened', at: string, calendar: Calendar): string {
  const day = new Intl.DateTimeFormat('en-CA', { timeZone: calendar.zone }).format(new Date(at));
  return `cycle ${String(n)} (${how} ${day})`;
}

/**
 * The earlier cycles of a case, each judged as it stood when it closed: its stages start at the
 * cycle's start (disclose at its fix), and what it never did was missed or not needed by then.
 */
function cyclesOf(
  c: EvidenceCaseRow,
  rows: readonly EvidenceCycleDeadline[],
  pauses: CaseFacts['pauses'],
  opts: Pick<AnalyseOptions, 'calendar' | 'now'>,
): CycleEvidence[] {
  const starts = [...new Set(rows.map((r) => r.cycle_started_at))].sort();
  return starts.map((startedAt, i) => {
    // The first cycle of an imported case is the imported history (a reopen starts live work).
    const ofCycle = rows
      .filter((r) => r.cycle_started_at === startedAt)
      .map((r) => (i === 0 && c.imported === true ? { ...r, historical: true } : r));
    const endedAt = ofCycle[0]?.cycle_ended_at ?? startedAt;
    const as = {
      created_at: startedAt,
      reopened_at: null,
      fixed_at: ofCycle.find((r) => r.kind === 'fix')?.met_at ?? null,
      closed_at: endedAt,
    };
    const how = startedAt === c.created_at ? 'received' : 'reopened';
    return {
      cycle: i + 1,
      label: cycleLabel(i + 1, how, startedAt, opts.calendar),
      startedAt,
      endedAt,
      stages: EVIDENCE_STAGES.map((s) =>
        judgeStage(
          s,
          ofCycle.find((r) => r.kind === s),
          as,
          opts.calendar,
          opts.now,
          pauses,
        ),
      ),
    };
  });
}

/** Every stage of a case, the earlier cycles' first, each with its cycle's label (null: current). */
export function everyStage(c: CaseEvidence): { cycle: string | null; result: StageResult }[] {
  return [
    ...c.earlierCycles.flatMap((y) => y.stages.map((result) => ({ cycle: y.label, result }))),
    ...c.stages.map((result) => ({ cycle: c.cycleLabel, result })),
  ];
}

/**
 * "legal hold: <reason> (since <date>, by <who>)" (issue #13), or null when the case is not held.
 */
export function describeHold(c: Pick<CaseEvidence, 'legalHold'>): string | null {
  const h = c.legalHold;
  if (h === null) return null;
  const when = [h.since === null ? null : `since ${h.since}`, h.by === null ? null : `by ${h.by}`].filter(
    (x) => x !== null,
  );
  return `legal hold: ${h.reason ?? '(no reason recorded)'}${when.length > 0 ? ` (${when.join(', ')})` : ''}`;
}

/** "closed (duplicate of SEC-…)", "fixing, on hold". */
export function stateOf(c: CaseEvidence): string {
  const parts = [
    c.stage === 'closed'
      ? `closed (${c.resolution ?? '?'}${c.duplicateOf === null ? '' : ` of ${c.duplicateOf}`})`
      : c.stage,
  ];
  if (c.imported) parts.push('imported');
  if (c.onHold) parts.push('on hold');
  if (c.purged !== null)
    parts.push(
      `content purged ${c.purged.at.slice(0, 10)}${c.purged.policyYears === null ? '' : ` (retention ${String(c.purged.policyYears)} years)`}`,
    );
  if (c.waitingOnReporter) parts.push('waiting on the reporter');
  return parts.join(', ');
}
