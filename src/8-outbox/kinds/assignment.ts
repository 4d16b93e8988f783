import { z } from 'zod';
import { autoSubmittedSchema, defineKind, flagsSchema, messageRowIdSchema } from './kind.js';
import { snapshotSchema } from './snapshot.js';
import { staffBuilt, staffCommon } from './staff-mail.js';

/** The notice to a staff member that someone assigned them a case (`/assign`). */
export const assignmentSchema = z.object({
  template: z.literal('assignment'),
  /** The command mail. */
  messageRowId: messageRowIdSchema,
  autoSubmitted: autoSubmittedSchema,
  flags: flagsSchema,
  /** Who assigned. */
  by: z.string(),
  snapshot: snapshotSchema.nullable(),
});

export type AssignmentPayload = z.infer<typeof assignmentSchema>;

export const assignment = defineKind(assignmentSchema, (m) => {
  const text = m.ctx.templates.render('assignment', {
    ...staffCommon(m, m.payload.snapshot).data,
    by: m.payload.by,
  });
  return Promise.resolve(staffBuilt(m, text));
});
