import type { Span } from '../calendar/calendar.js';

/** Formatting for mail bodies. Pure. */

const UNIT_WORDS: Record<Span['unit'], [string, string]> = {
  business_days: ['business day', 'business days'],
  calendar_days: ['day', 'days'],
  hours: ['hour', 'hours'],
  minutes: ['minute', 'minutes'],
  seconds: ['second', 'seconds'],
};

/** `3 business days`, `1 day`, `30 seconds`. */
export function formatSpan(span: Span): string {
  const [one, many] = UNIT_WORDS[span.unit];
  return `${span.amount} ${span.amount === 1 ? one : many}`;
}

/** `Friday, 27 November 2026, 14:05 (Europe/Berlin)` in the organisation's time zone. */
const formats = new Map<string, Intl.DateTimeFormat>();

export function formatDate(iso: string, timeZone: string): string {
  // Building an Intl.DateTimeFormat is costly (it showed in the benchmark's profile): one per zone.
  let format = formats.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-GB', { timeZone, dateStyle: 'full', timeStyle: 'short' });
    formats.set(timeZone, format);
  }
  const text = format.format(new Date(iso));
  return `${text} (${timeZone})`;
}

/** An OpenPGP fingerprint in groups of four, the way people compare them. */
export function formatFingerprint(fpr: string): string {
  const groups = fpr.toUpperCase().match(/.{1,4}/g) ?? [];
  const half = groups.length / 2;
  return `${groups.slice(0, half).join(' ')}  ${groups.slice(half).join(' ')}`;
}
