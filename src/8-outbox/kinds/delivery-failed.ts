import { z } from 'zod';
import { autoSubmittedSchema, defineKind, flagsSchema, staffProtection } from './kind.js';

/** The alert to staff that a mail of the case was refused permanently (written by markFailed). */
export const deliveryFailedSchema = z.object({
  template: z.literal('delivery-failed'),
  /** The outbox row that could not be delivered. */
  failedOutboxId: z.number().int(),
  autoSubmitted: autoSubmittedSchema,
  flags: flagsSchema,
});

export type DeliveryFailedPayload = z.infer<typeof deliveryFailedSchema>;

export const deliveryFailed = defineKind(deliveryFailedSchema, ({ ctx, row, payload, case: c, base }) => {
  const failed = ctx.outboxRow(payload.failedOutboxId);
  const text = ctx.templates.render('delivery-failed', {
    caseId: c.id,
    kind: failed?.kind ?? 'unknown',
    recipients: failed?.recipients.join(', ') ?? '',
    messageId: failed?.message_id ?? '',
    error: failed?.last_error ?? '',
  });
  return Promise.resolve({
    mail: { ...base, text },
    // An alert to several people is signed only (as before); to one, encrypted when keyed.
    protection:
      row.recipients.length === 1 ? staffProtection(ctx, row.recipients) : { kind: 'signed' as const },
    envelopeFrom: ctx.config.smtp.envelope_from,
  });
});
