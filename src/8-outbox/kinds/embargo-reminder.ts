import { z } from 'zod';
import { staffByAddress } from '../../core/staff.js';
import { RESOLVED_BY } from '../../policy/escalation.js';
import { formatSpan } from '../../policy/wording.js';
import { formatDate } from '../render.js';
import { autoSubmittedSchema, defineKind, reporterProtection, staffProtection } from './kind.js';

/**
 * An embargo reminder (issue #14): the agreed disclosure date is `disclosure.remind_before` away.
 * One to the reporter (on their thread, encrypted to their pinned key when known), one to the
 * assignee (or the security staff; encrypted to staff keys). Case id, the date and what happens
 * then — never report content, nor the advisory's title or summary.
 */
export const embargoReminderSchema = z.object({
  template: z.literal('embargo-reminder'),
  autoSubmitted: autoSubmittedSchema,
  /** `embargo_reminders.id`. */
  reminderId: z.number().int(),
  audience: z.enum(['reporter', 'staff']),
  /** The agreed date, YYYY-MM-DD. */
  discloseOn: z.iso.date(),
  /** The `disclose` deadline's due time when the reminder was claimed. */
  dueAt: z.iso.datetime(),
});

export type EmbargoReminderPayload = z.infer<typeof embargoReminderSchema>;

export const embargoReminder = defineKind(
  embargoReminderSchema,
  ({ ctx, row, payload: p, case: c, base }) => {
    const { config } = ctx;
    const tz = config.calendar.time_zone;
    const common = {
      caseId: c.id,
      discloseOn: p.discloseOn,
      due: formatDate(p.dueAt, tz),
      organisation: config.organisation.name,
      securityAddress: config.organisation.security_address,
    };
    if (p.audience === 'reporter') {
      const key = ctx.pinnedKey(row.recipients[0] ?? '');
      const text = ctx.templates.render('embargo-reminder-reporter', {
        ...common,
        reporterName: c.reporter_name ?? '',
        encrypted: key !== null,
      });
      return Promise.resolve({
        mail: { ...base, text },
        protection: reporterProtection(key),
        envelopeFrom: config.organisation.security_address,
      });
    }
    const owner =
      c.assignee === null
        ? 'nobody (the security staff are told)'
        : `${staffByAddress(config.staff, c.assignee)?.name ?? c.assignee} <${c.assignee}>`;
    const text = ctx.templates.render('embargo-reminder-staff', {
      ...common,
      stage: c.stage,
      owner,
      remindBefore: formatSpan(config.disclosure.remind_before),
      resolvedBy: RESOLVED_BY.disclose ?? '',
    });
    return Promise.resolve({
      mail: { ...base, replyTo: config.organisation.security_address, text },
      protection: staffProtection(ctx, row.recipients),
      envelopeFrom: config.organisation.security_address,
    });
  },
);
