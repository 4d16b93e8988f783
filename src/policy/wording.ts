import type { CalendarConfig, Span } from '../calendar/calendar.js';

/**
 * How the deadline policy is worded to people. One wording for every place that states a
 * promise — the acknowledgment mail, SECURITY.md, the written procedure — so what the reporter
 * reads, what the repository publishes and what the auditor sees cannot say different things
 * about the same configured span (DESIGN.md invariant 9). Pure.
 */

const UNIT_WORDS: Record<Span['unit'], [string, string]> = {
  business_days: ['business day', 'business days'],
  calendar_days: ['calendar day', 'calendar days'],
  hours: ['hour', 'hours'],
  minutes: ['minute', 'minutes'],
  seconds: ['second', 'seconds'],
};

/** `3 business days`, `1 calendar day`, `30 seconds`. */
export function formatSpan(span: Span): string {
  const [one, many] = UNIT_WORDS[span.unit];
  return `${span.amount} ${span.amount === 1 ? one : many}`;
}

const DAY_NAMES = {
  mon: 'Monday',
  tue: 'Tuesday',
  wed: 'Wednesday',
  thu: 'Thursday',
  fri: 'Friday',
  sat: 'Saturday',
  sun: 'Sunday',
} as const;
const WEEK = Object.keys(DAY_NAMES) as (keyof typeof DAY_NAMES)[];

/** "a, b and c". */
function joinWords(words: readonly string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words.at(-1) ?? ''}`;
}

/** "Monday to Friday" for a run of days, else "Monday, Wednesday and Friday"; "every day" for all seven. */
export function formatWorkingWeek(days: readonly CalendarConfig['working_days'][number][]): string {
  const idx = [...new Set(days)].map((d) => WEEK.indexOf(d)).sort((a, b) => a - b);
  if (idx.length === 7) return 'every day';
  const first = idx[0] ?? 0;
  const last = idx.at(-1) ?? 0;
  const names = idx.map((i) => DAY_NAMES[WEEK[i] ?? 'mon']);
  return idx.length >= 3 && last - first === idx.length - 1
    ? `${names[0] ?? ''} to ${names.at(-1) ?? ''}`
    : joinWords(names);
}

/**
 * What a business day is in the configured calendar, as one sentence: "Business days are Monday
 * to Friday in the Europe/Berlin time zone, except public holidays in DE-BE and the days we are
 * closed (2026-12-28, 2026-12-29)." The same rules `createCalendar` counts by.
 */
export function describeBusinessDays(cfg: CalendarConfig): string {
  const except: string[] = [];
  if (cfg.holiday_country !== undefined) {
    const where =
      cfg.holiday_region === undefined ? cfg.holiday_country : `${cfg.holiday_country}-${cfg.holiday_region}`;
    except.push(
      cfg.partial_day_holidays_closed
        ? `public holidays and half-day holidays in ${where}`
        : `public holidays in ${where}`,
    );
  }
  if (cfg.closed_days.length > 0) except.push(`the days we are closed (${cfg.closed_days.join(', ')})`);
  const tail = except.length === 0 ? '' : `, except ${joinWords(except)}`;
  return `Business days are ${formatWorkingWeek(cfg.working_days)} in the ${cfg.time_zone} time zone${tail}.`;
}
