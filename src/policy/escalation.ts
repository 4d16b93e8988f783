import type { Calendar } from '../calendar/calendar.js';
import type { Config } from '../config/schema.js';

export type Ladder = Config['escalation']['ladder'];
export type Recipient = Ladder[number]['to'];

export interface PlannedStep {
  step: number;
  to: Recipient;
  fireAt: Date;
}

/**
 * When each step of the escalation ladder fires for a deadline due at `dueAt`: `before` and
 * `after` are counted in the calendar (business days skip closed days). Pure.
 */
export function planLadder(dueAt: Date, ladder: Ladder, calendar: Calendar): PlannedStep[] {
  return ladder.map((s, step) => {
    const offset = s.before ?? s.after ?? { amount: 0, unit: 'seconds' as const };
    const sign = s.before !== undefined ? -1 : 1;
    const fireAt =
      offset.amount === 0 ? dueAt : calendar.add(dueAt, { amount: sign * offset.amount, unit: offset.unit });
    return { step, to: s.to, fireAt };
  });
}

/** What meets each deadline, as the escalation mail says it. */
export const RESOLVED_BY: Record<string, string> = {
  acknowledge:
    'any mail to the reporter meets it: check why the acknowledgment was not sent (psirt cases show), or answer with /reply',
  triage: 'reply to a case mail, signed, with /triage in the subject',
  verify: 'reply to a case mail, signed, with /verified in the subject',
  fix: 'reply to a case mail, signed, with /fixed (or /fix-by <date> to agree a later date) in the subject',
  disclose: 'reply to a case mail, signed, with /publish <advisory-url> (or /disclose <date>) in the subject',
  'outside-expertise': 'record it with /external "<organisation>" in the subject of a signed reply',
};

export interface OutsideExpertiseNeed {
  tags: string[];
  /** Days from the report to the fix date, when over the limit. */
  fixDays: number | null;
}

/**
 * ISO/IEC 18974 §4.2.2.3: whether a case needs outside expertise — tagged with a configured kind,
 * or its fix date more than `max_fix_days` after the report. Null when it does not.
 */
export function outsideExpertiseNeed(
  c: { tags: readonly string[]; createdAt: Date; fixDue: Date | null },
  cfg: Config['escalation']['outside_expertise'],
): OutsideExpertiseNeed | null {
  const tags = c.tags.filter((t) => cfg.tags.includes(t));
  const days = c.fixDue === null ? null : (c.fixDue.getTime() - c.createdAt.getTime()) / 86_400_000;
  const fixDays = days !== null && days > cfg.max_fix_days ? Math.round(days) : null;
  return tags.length > 0 || fixDays !== null ? { tags, fixDays } : null;
}

/** The experts to name: those whose expertise matches a tag, else all of them. */
export function expertsFor(
  need: OutsideExpertiseNeed,
  experts: Config['escalation']['outside_expertise']['experts'],
): Config['escalation']['outside_expertise']['experts'] {
  const matching = experts.filter((e) =>
    e.expertise.some((x) =>
      need.tags.some((t) => x.toLowerCase().startsWith(t) || t.startsWith(x.toLowerCase())),
    ),
  );
  return matching.length > 0 ? matching : experts;
}
