import { EVIDENCE_STAGES, everyStage, type CaseEvidence, type EvidenceStage } from './analyse.js';

/**
 * The SLA summary of the evidence pack (issue #12): per stage and severity, how many deadlines
 * were decided (met or missed), the share met, and the median and 90th percentile of the
 * business days the stage took; and per month (of the due time, in the calendar's zone) how
 * many were met and missed. Open, paused, cancelled and historical (imported, issue #15) stages
 * are not decided and not counted. The
 * stages of a reopened case's earlier cycles count like any other.
 */

export interface SlaRow {
  stage: EvidenceStage;
  /** A severity, "unscored" (none set), or "all". */
  severity: string;
  count: number;
  met: number;
  missed: number;
  /** Met share in percent, one decimal; null when nothing was decided. */
  metPct: number | null;
  medianBusinessDays: number | null;
  p90BusinessDays: number | null;
}

export interface SlaMonth {
  month: string;
  stage: EvidenceStage;
  met: number;
  missed: number;
}

export interface SlaSummary {
  rows: SlaRow[];
  months: SlaMonth[];
}

/** The middle value; the mean of the two middle ones for an even count. Null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const value = s.length % 2 === 1 ? s[mid] : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
  return Math.round((value ?? 0) * 100) / 100;
}

/**
 * The p-th percentile by the nearest-rank method (the smallest value with at least p% of the
 * values at or below it): an actual observed time, never an interpolated one. Null for none.
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1] ?? null;
}

const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low', 'none', 'unscored'];

/** "YYYY-MM" of an instant in a time zone. */
export function monthIn(at: string, zone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit' })
    .formatToParts(new Date(at))
    .reduce<Record<string, string>>((o, p) => ({ ...o, [p.type]: p.value }), {});
  return `${parts.year ?? '0000'}-${parts.month ?? '00'}`;
}

export function summariseSla(cases: readonly CaseEvidence[], zone: string): SlaSummary {
  type Decided = { stage: EvidenceStage; severity: string; met: boolean; taken: number | null; due: string };
  const decided: Decided[] = [];
  for (const c of cases) {
    // Every cycle of a reopened case counts: a miss before the reopen stays a miss.
    for (const { result: s } of everyStage(c)) {
      if ((s.verdict !== 'met' && s.verdict !== 'missed') || s.dueAt === null) continue;
      decided.push({
        stage: s.stage,
        severity: c.severity ?? 'unscored',
        met: s.verdict === 'met',
        taken: s.takenBusinessDays,
        due: s.dueAt,
      });
    }
  }
  const row = (stage: EvidenceStage, severity: string, group: Decided[]): SlaRow => {
    const met = group.filter((d) => d.met).length;
    const taken = group.flatMap((d) => (d.taken === null ? [] : [d.taken]));
    return {
      stage,
      severity,
      count: group.length,
      met,
      missed: group.length - met,
      metPct: group.length === 0 ? null : Math.round((met / group.length) * 1000) / 10,
      medianBusinessDays: median(taken),
      p90BusinessDays: percentile(taken, 90),
    };
  };
  const rows: SlaRow[] = [];
  const months: SlaMonth[] = [];
  for (const stage of EVIDENCE_STAGES) {
    const ofStage = decided.filter((d) => d.stage === stage);
    rows.push(row(stage, 'all', ofStage));
    const severities = [...new Set(ofStage.map((d) => d.severity))].sort(
      (a, b) => SEVERITY_ORDER.indexOf(a) - SEVERITY_ORDER.indexOf(b),
    );
    for (const sev of severities)
      rows.push(
        row(
          stage,
          sev,
          ofStage.filter((d) => d.severity === sev),
        ),
      );
    const byMonth = new Map<string, SlaMonth>();
    for (const d of ofStage) {
      const month = monthIn(d.due, zone);
      const m = byMonth.get(month) ?? { month, stage, met: 0, missed: 0 };
      if (d.met) m.met += 1;
      else m.missed += 1;
      byMonth.set(month, m);
    }
    months.push(...[...byMonth.values()].sort((a, b) => a.month.localeCompare(b.month)));
  }
  return { rows, months };
}
