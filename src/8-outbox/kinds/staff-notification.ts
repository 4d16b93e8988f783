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

/**
 * Each new report and each follow-up, to every staff member: one mail per group of staff that
 * gets the same one (#16: those with keys, those without), threaded per case and group.
 */
export const staffNotificationSchema = z.object({
  template: z.literal('staff-notification'),
  /** The report or follow-up, decoded again for staff who may see its content. */
  messageRowId: messageRowIdSchema,
  autoSubmitted: autoSubmittedSchema,
  event: z.enum(['new-report', 'follow-up']),
  /** A new report whose acknowledgment was held back, and why (issue #10). */
  ackHeld: ackHeldSchema.optional(),
  flags: flagsSchema,
  /**
   * A follow-up's `Credit:` line (issue #14): the credit recorded ('' = none) and how the sender
   * proved to be the reporter, or why a line was ignored; the draft the mail answers.
   */
  credit: z
    .object({
      stated: z.object({ credit: z.string(), by: z.enum(['address', 'signature']) }).optional(),
      ignored: z.enum(['not-the-reporter', 'empty', 'too-long', 'not-printable', 'ambiguous']).optional(),
      answersDraft: z.number().int().optional(),
    })
    .optional(),
});

export type StaffNotificationPayload = z.infer<typeof staffNotificationSchema>;

export const staffNotification = defineKind(
  staffNotificationSchema,
  async ({ ctx, row, payload, case: c, base }) => {
    const { config } = ctx;
    // A group's follow-up answers the group's first notification; on a database written before
    // #16 (one row per member) References names each member's own first one.
    const firsts = ctx.firstNotification(c.id, row.recipients, row.id);
    const threading = firsts[0] === undefined ? {} : { inReplyTo: firsts[0], references: firsts };
    // The report only when every recipient may see it: each has a key (encrypted to all of them
    // at once), or clear text is allowed. A row queued for keyed staff whose key was removed from
    // the config before it was sent goes withheld to the whole group (decision 0012).
    const withContent =
      (row.recipients.length > 0 && row.recipients.every((r) => ctx.staffKeys.has(r))) ||
      config.notifications.allow_cleartext;
    const { received, triageBy } = caseDates(ctx, c);
    const common = {
      caseId: c.id,
      followUp: payload.event === 'follow-up',
      sender: c.reporter_address,
      receivedAt: received,
      flags: payload.flags.join(', '),
      triageBy,
      ackHeld: describeAckHeld(payload.ackHeld),
      answersDraft: payload.credit?.answersDraft ?? '',
      creditRecorded: payload.credit?.stated !== undefined,
      creditBy: payload.credit?.stated?.by === 'signature' ? "their pinned key's signature" : 'their address',
      creditIgnored: describeIgnored(payload.credit?.ignored),
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
      // The name is report content: only in the mail that carries the report itself.
      creditStated: creditText(payload.credit?.stated?.credit),
    });
    return {
      mail: { ...base, ...threading, replyTo: config.organisation.security_address, text },
      protection,
      envelopeFrom: config.organisation.security_address,
    };
  },
);

function creditText(credit: string | undefined): string {
  if (credit === undefined) return '';
  return credit === '' ? 'none (no credit in the advisory)' : credit;
}

function describeIgnored(reason: string | undefined): string {
  switch (reason) {
    case undefined:
      return '';
    case 'not-the-reporter':
      return "not recorded: the mail is neither from the reporter's address nor signed by their pinned key";
    case 'ambiguous':
      return 'not recorded: several Credit: lines disagree';
    default:
      return `not recorded: the Credit: line is ${reason}`;
  }
}
