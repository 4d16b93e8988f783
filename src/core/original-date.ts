/** Mail older than this is not believed: no security mailbox holds mail from before it. */
const EARLIEST = Date.UTC(1990, 0, 1);
/** Clock skew tolerated for a date in the future. */
const FUTURE_SLACK_MS = 24 * 60 * 60 * 1000;

/**
 * The original date of a mail imported as history (issue #15): its Date header, else the date
 * the mailbox (or the export's `From ` line, or the Maildir file) recorded, else `now`. An absurd
 * date — unparseable, before 1990, more than a day in the future (a forged or broken header) —
 * is passed over, so one odd mail cannot put a case in 1970 or in next year.
 */
export function originalDate(header: string | null, recorded: string | null, now: Date): Date {
  for (const candidate of [header, recorded]) {
    if (candidate === null) continue;
    const t = new Date(candidate).getTime();
    if (Number.isNaN(t) || t < EARLIEST || t > now.getTime() + FUTURE_SLACK_MS) continue;
    return new Date(t);
  }
  return now;
}
