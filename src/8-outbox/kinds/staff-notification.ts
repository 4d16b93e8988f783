import { z } from 'zod';
import { describeAckHeld, type AckHeld } from '../../7-cases/first-contact.js';
import { hasFlagIn, NOT_DECODED_FLAGS, UNREADABLE_FLAGS } from '../../core/flags.js';
import {
  autoSubmittedSchema,
  caseDates,
  defineKind,
  flagsSchema,
  messageRowIdSchema,
  staffProtection,
} from './kind.js';

const ackHeldSchema: z.ZodType<AckHeld> = z.object({
  reason: z.enum(['first-contact', 'rate-limit']),
  limit: z.number(),
  lastHour: z.number(),
});

/** Each new report and each follow-up, to every staff member (threaded per case). */
export const staffNotificationSchema = z.object({
  template: z.literal('staff-notification'),
  /** The report or follow-up, decoded again for staff who may see its content. */
  messageRowId: messageRowIdSchema,
  autoSubmitted: autoSubmittedSchema,
  event: z.enum(['new-report', 'follow-up']),
  /** A new report whose acknowledgment was held back, and why (issue #10). */
  ackHeld: ackHeldSchema.optional(),
  flags: flagsSchema,
});

export type StaffNotificationPayload = z.infer<typeof staffNotificationSchema>;

export const staffNotification = defineKind(
  staffNotificationSchema,
  async ({ ctx, row, payload, case: c, base }) => {
    const { config } = ctx;
    const recipient = row.recipients[0] ?? '';
    const first = ctx.firstNotification(c.id, recipient, row.id);
    const threading = first === null ? {} : { inReplyTo: first, references: [first] };
    const withContent = ctx.staffKeys.has(recipient) || config.notifications.allow_cleartext;
    const { received, triageBy } = caseDates(ctx, c);
    const common = {
      caseId: c.id,
      followUp: payload.event === 'follow-up',
      sender: c.reporter_address,
      receivedAt: received,
      flags: payload.flags.join(', '),
      triageBy,
      ackHeld: describeAckHeld(payload.ackHeld),
    };
    if (!withContent) {
      return {
        mail: {
          ...base,
          ...threading,
          replyTo: config.organisation.security_address,
          text: ctx.templates.render('staff-notification-withheld', common),
        },
        protection: { kind: 'signed' },
        envelopeFrom: config.organisation.security_address,
      };
    }
    const view = await ctx.report(
      payload.messageRowId,
      c.reporter_address,
      hasFlagIn(NOT_DECODED_FLAGS, payload.flags),
    );
    const protection = staffProtection(ctx, row.recipients);
    const text = ctx.templates.render('staff-notification', {
      ...common,
      // The real subject only inside encryption (allow_cleartext sends this in clear).
      subject: protection.kind === 'encrypted' ? (view.subject ?? c.subject) : c.subject,
      encryption: view.encryption,
      signature: view.signature,
      keyChanged: c.flags.includes('key-changed'),
      quarantined: hasFlagIn(UNREADABLE_FLAGS, payload.flags),
      attachments: view.attachments,
      problems: view.problems,
      report: view.report,
    });
    return {
      mail: { ...base, ...threading, replyTo: config.organisation.security_address, text },
      protection,
      envelopeFrom: config.organisation.security_address,
    };
  },
);
