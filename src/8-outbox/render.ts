/**
 * Formatting for mail bodies. Pure. Spans are worded by src/policy/wording.ts and fingerprints by
 * src/core/fingerprint.ts: the published program documents word them the same way.
 */

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
