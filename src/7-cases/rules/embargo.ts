import type { Calendar } from '../../calendar/calendar.js';
import type { Config } from '../../config/schema.js';
import { securityStaff } from '../addresses.js';

/**
 * Embargo reminders (issue #14 item 4). Pure: what the store reads of a case goes in, which
 * reminders the case should have and whether a stored one is sent, stopped or waits comes out.
 *
 * An agreed disclosure date (`/disclose`) reminds the reporter and the assignee (the security
 * staff when nobody is assigned, as the ladder's `assignee` step) `disclosure.remind_before`
 * ahead of the `disclose` deadline's due time (the end of the agreed day in the calendar's zone,
 * moved out by any pause), counted in the calendar — business days skip closed days. Each once
 * per agreed date (`embargo_reminders` UNIQUE (case, recipient, date)):
 *   - a changed date has reminders of its own; the old date's pending ones stop (a reminder
 *     already sent is never sent again, even if that date is agreed once more);
 *   - nothing once the advisory is published or the case closed: pending reminders stop;
 *   - nothing while the clock stands still (on hold, or waiting on the reporter): pending ones
 *     wait. When it moves again the deadline's due time has moved out by the time it stood, and
 *     so has each reminder; one whose new time is already past goes at the next sweep;
 *   - the date agreed already inside the window (the reminder time before the agreement): the
 *     assignee's goes at the next sweep (the one who agreed it may not be the one who must
 *     publish); the reporter's is stopped when the `disclosure-scheduled` status mail told them
 *     of that date then — a second mail about the same date moments later is noise — and goes at
 *     the next sweep when no status mail is configured for it;
 *   - once the due time has passed a reminder not yet sent stops: the `disclose` deadline's
 *     escalation ladder takes over.
 */

export const EMBARGO_RECIPIENTS = ['reporter', 'assignee'] as const;
export type EmbargoRecipient = (typeof EMBARGO_RECIPIENTS)[number];

/** What the reminder rules read of a case. */
export interface EmbargoCase {
  /** Agreed disclosure date, YYYY-MM-DD (`cases.disclose_on`). */
  discloseOn: string | null;
  /** When that date was agreed (the last `case.disclosure-scheduled` event), ISO. */
  agreedAt: string | null;
  closed: boolean;
  published: boolean;
  onHold: boolean;
  /** The case has a reporter to remind (`reporter_address` is not empty). */
  hasReporter: boolean;
  /** The stored `disclose` deadline. */
  deadline: { dueAt: string; state: string } | null;
}

export interface PlannedReminder {
  recipient: EmbargoRecipient;
  discloseOn: string;
  fireAt: Date;
}

export type RemindBefore = Config['disclosure']['remind_before'];

/** Whether agreeing a date mails the reporter (`status_mails.events` has `disclosure-scheduled`). */
export function reporterToldOnAgreement(config: Pick<Config, 'status_mails'>): boolean {
  return config.status_mails.events.includes('disclosure-scheduled');
}

/** When the reminders of a deadline due at `dueAt` fire: `remind_before` earlier, in the calendar. */
export function reminderTime(dueAt: Date, remindBefore: RemindBefore, calendar: Calendar): Date {
  return calendar.add(dueAt, { amount: -remindBefore.amount, unit: remindBefore.unit });
}

/**
 * The reminders a case should have now: none without an agreed date, once published or closed,
 * or without a `disclose` deadline still to meet; else one per recipient (no reporter reminder
 * for a case without a reporter) at the reminder time of the deadline's due time.
 */
export function planReminders(
  c: EmbargoCase,
  remindBefore: RemindBefore,
  calendar: Calendar,
): PlannedReminder[] {
  if (c.discloseOn === null || c.closed || c.published || c.deadline === null) return [];
  if (c.deadline.state !== 'open' && c.deadline.state !== 'paused') return [];
  const fireAt = reminderTime(new Date(c.deadline.dueAt), remindBefore, calendar);
  const discloseOn = c.discloseOn;
  return EMBARGO_RECIPIENTS.filter((r) => r === 'assignee' || c.hasReporter).map((recipient) => ({
    recipient,
    discloseOn,
    fireAt,
  }));
}

export type ReminderVerdict =
  | { action: 'send' }
  | { action: 'stop'; why: 'not-planned' | 'date-passed' | 'agreed-in-window' }
  | { action: 'wait'; fireAt: Date | null };

/**
 * What to do with a stored pending reminder at `now`, from the case as it is now (the claim
 * decides in its transaction, so a reminder planned for a date since changed never goes).
 */
export function reminderVerdict(
  c: EmbargoCase,
  r: { recipient: EmbargoRecipient; disclose_on: string },
  now: Date,
  opts: { remindBefore: RemindBefore; calendar: Calendar; reporterTold: boolean },
): ReminderVerdict {
  const planned = planReminders(c, opts.remindBefore, opts.calendar).find(
    (p) => p.recipient === r.recipient && p.discloseOn === r.disclose_on,
  );
  if (planned === undefined || c.deadline === null) return { action: 'stop', why: 'not-planned' };
  if (c.onHold || c.deadline.state === 'paused') return { action: 'wait', fireAt: null };
  if (now.getTime() >= Date.parse(c.deadline.dueAt)) return { action: 'stop', why: 'date-passed' };
  if (now.getTime() < planned.fireAt.getTime()) return { action: 'wait', fireAt: planned.fireAt };
  if (
    r.recipient === 'reporter' &&
    opts.reporterTold &&
    c.agreedAt !== null &&
    Date.parse(c.agreedAt) >= planned.fireAt.getTime()
  )
    return { action: 'stop', why: 'agreed-in-window' };
  return { action: 'send' };
}

/** Who gets a reminder: the reporter, or the assignee (all security staff when none), as the ladder. */
export function reminderRecipients(
  config: Pick<Config, 'staff'>,
  recipient: EmbargoRecipient,
  c: { reporterAddress: string; assignee: string | null },
): string[] {
  if (recipient === 'reporter') return [c.reporterAddress];
  return c.assignee !== null ? [c.assignee] : securityStaff(config);
}
