import type { Calendar } from '../calendar/calendar.js';

/**
 * The retention rule (issue #13, DESIGN.md invariant 7): a closed case's records are kept
 * `retention.years` counted from its closure in the calendar's zone, and purged only once the
 * local date is AFTER the closure's local date plus that many years. Pure: the store reads the
 * candidates, this decides; business days play no part (a weekend or holiday anniversary changes
 * nothing), only local calendar dates do.
 */

/** A closed, unpurged case as the store reads it for the rule. */
export interface RetentionCandidate {
  id: string;
  closedAt: string;
  resolution: string | null;
  onHold: boolean;
}

/** Where one closed case stands against the policy at `now`. */
export interface RetentionVerdict {
  id: string;
  closedAt: string;
  resolution: string | null;
  /** The closure's local date (YYYY-MM-DD, calendar zone). */
  closedOn: string;
  /** The last local date the case is kept: closedOn + years (29 Feb → 1 Mar when not a leap year). */
  keepUntil: string;
  /** The first instant it may be purged: the start of the local day after `keepUntil`. */
  purgeFrom: Date;
  /** Due: past `keepUntil` and not on hold. */
  due: boolean;
  /** Past `keepUntil` but on hold: kept until the hold is lifted. */
  held: boolean;
}

/** The local calendar date (YYYY-MM-DD) of an instant in `zone`. */
export function localDateOf(at: Date, zone: string): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);
}

const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/**
 * `date` (YYYY-MM-DD) plus whole years. A 29 February lands on 1 March of a year without one:
 * keeping until 28 February would purge a day early, and retention never purges early.
 */
export function addYears(date: string, years: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const year = y + years;
  if (m === 2 && d === 29 && !isLeap(year)) return `${String(year).padStart(4, '0')}-03-01`;
  return `${String(year).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** The day after a YYYY-MM-DD date (calendar arithmetic in UTC: no zone, no DST). */
export function nextDate(date: string): string {
  const t = new Date(`${date}T00:00:00Z`);
  t.setUTCDate(t.getUTCDate() + 1);
  return t.toISOString().slice(0, 10);
}

/** The verdict of one closed case at `now` under a policy of `years`. */
export function retentionVerdict(
  c: RetentionCandidate,
  now: Date,
  years: number,
  calendar: Pick<Calendar, 'zone' | 'startOfDay'>,
): RetentionVerdict {
  const closedOn = localDateOf(new Date(c.closedAt), calendar.zone);
  const keepUntil = addYears(closedOn, years);
  const past = localDateOf(now, calendar.zone) > keepUntil;
  return {
    id: c.id,
    closedAt: c.closedAt,
    resolution: c.resolution,
    closedOn,
    keepUntil,
    purgeFrom: calendar.startOfDay(nextDate(keepUntil)),
    due: past && !c.onHold,
    held: past && c.onHold,
  };
}

/** What a run at `now` purges (`due`, oldest closure first) and what a hold keeps (`held`). */
export interface RetentionPlan {
  years: number;
  due: RetentionVerdict[];
  held: RetentionVerdict[];
}

/** Decides the run over the store's candidates (every closed, unpurged case it read). */
export function planRetention(
  candidates: readonly RetentionCandidate[],
  now: Date,
  years: number,
  calendar: Pick<Calendar, 'zone' | 'startOfDay'>,
): RetentionPlan {
  const verdicts = candidates
    .map((c) => retentionVerdict(c, now, years, calendar))
    .sort((a, b) => a.closedAt.localeCompare(b.closedAt) || a.id.localeCompare(b.id));
  return { years, due: verdicts.filter((v) => v.due), held: verdicts.filter((v) => v.held) };
}

/**
 * The newest closure instant that can possibly be due at `now` (a superset bound for the
 * store's query, so it need not read every closed case): `years` before now plus two days covers
 * every zone offset (≤ 14 h) and the 29 February shift (1 day). The rule above decides exactly.
 */
export function candidateBound(now: Date, years: number): Date {
  const t = new Date(now.getTime());
  t.setUTCFullYear(t.getUTCFullYear() - years);
  return new Date(t.getTime() + 2 * 86_400_000);
}
