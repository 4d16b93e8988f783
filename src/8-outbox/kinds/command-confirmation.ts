import { z } from 'zod';
import { helpText, type CommandOutcome } from '../../6-commands/plan.js';
import { autoSubmittedSchema, defineCaselessKind, flagsSchema, messageRowIdSchema } from './kind.js';
import { snapshotSchema } from './snapshot.js';
import { staffBuilt, staffCommon } from './staff-mail.js';

/** Each command and what became of it. */
const outcomeSchema: z.ZodType<CommandOutcome> = z.object({
  text: z.string(),
  applied: z.boolean(),
  detail: z.string(),
});

/** The answer to an authenticated command mail: what was applied, what was not and why. */
export const commandConfirmationSchema = z.object({
  template: z.literal('command-confirmation'),
  /** The command mail. */
  messageRowId: messageRowIdSchema,
  autoSubmitted: autoSubmittedSchema,
  flags: flagsSchema,
  outcomes: z.array(outcomeSchema),
  help: z.boolean(),
  /** The case after the change; null when the mail named no case. */
  snapshot: snapshotSchema.nullable(),
  /** How the mail was authenticated; absent when it named no case. */
  authLabel: z.string().optional(),
});

export type CommandConfirmationPayload = z.infer<typeof commandConfirmationSchema>;

export const commandConfirmation = defineCaselessKind(commandConfirmationSchema, (m) => {
  const { config } = m.ctx;
  const { payload } = m;
  const { member, data } = staffCommon(m, payload.snapshot);
  const text = m.ctx.templates.render('command-confirmation', {
    ...data,
    authLabel: payload.authLabel ?? '',
    outcomes: payload.outcomes,
    help: payload.help,
    helpText: member ? helpText(config.raci, member) : '',
    reply: m.row.kind === 'command-confirmation' && m.ctx.hasReply(payload.messageRowId),
  });
  return Promise.resolve(staffBuilt(m, text));
});
