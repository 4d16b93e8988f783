import { z } from 'zod';
import { autoSubmittedSchema, defineKind, flagsSchema, messageRowIdSchema } from './kind.js';
import { reporterBuilt, reporterData } from './reporter-mail.js';
import { snapshotSchema } from './snapshot.js';

/** A staff member's `/reply`, relayed to the reporter through the template. */
export const reporterReplySchema = z.object({
  template: z.literal('reporter-reply'),
  /** The command mail, whose own text is relayed (decoded again: no plaintext at rest). */
  messageRowId: messageRowIdSchema,
  autoSubmitted: autoSubmittedSchema,
  flags: flagsSchema,
  snapshot: snapshotSchema.nullable(),
  /** Who wrote it. */
  staffName: z.string(),
});

export type ReporterReplyPayload = z.infer<typeof reporterReplySchema>;

export const reporterReply = defineKind(reporterReplySchema, async (m) => {
  const { key, data } = reporterData(m, m.payload.snapshot);
  const text = m.ctx.templates.render('reporter-reply', {
    ...data,
    staffName: m.payload.staffName,
    text: await m.ctx.staffText(m.payload.messageRowId),
  });
  return reporterBuilt(m, key, text);
});
