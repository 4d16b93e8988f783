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
export const embargoEndingSchema = z.object({
  template: z.literal('embargo-ending'),
  messageRowId: messageRowIdSchema,
  autoSubmitted: autoSubmittedSchema,
  flags: flagsSchema,
  embargoEnds: z.string(),
});

export type EmbargoEndingPayload = z.infer<typeof embargoEndingSchema>;

export const embargoEnding = defineKind(embargoEndingSchema, ({ ctx, row, payload, case: c, base }) =>
  Promise.resolve({
    mail: { ...base, text: `${c.id}: the embargo ends ${payload.embargoEnds}` },
    protection: staffProtection(ctx, row.recipients),
    envelopeFrom: ctx.config.organisation.security_address,
  }),
);
