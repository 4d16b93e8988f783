import { z } from 'zod';
import {
  autoSubmittedSchema,
  defineKind,
  flagsSchema,
  messageRowIdSchema,
  staffProtection,
} from '../../../src/8-outbox/kinds/kind.js';

/**
 * A mail kind that exists only in the tests (#11): what adding a kind takes — its payload
 * schema, its type and its rendering in one module. `embargoEnds` is required.
 */
export const embargoReminderSchema = z.object({
  template: z.literal('embargo-reminder'),
  messageRowId: messageRowIdSchema,
  autoSubmitted: autoSubmittedSchema,
  flags: flagsSchema,
  embargoEnds: z.string(),
});

export type EmbargoReminderPayload = z.infer<typeof embargoReminderSchema>;

export const embargoReminder = defineKind(embargoReminderSchema, ({ ctx, row, payload, case: c, base }) =>
  Promise.resolve({
    mail: { ...base, text: `${c.id}: the embargo ends ${payload.embargoEnds}` },
    protection: staffProtection(ctx, row.recipients),
    envelopeFrom: ctx.config.organisation.security_address,
  }),
);
