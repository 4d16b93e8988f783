import { z } from 'zod';
import { helpText, type CommandOutcome } from '../../6-commands/plan.js';
import { formatDate } from '../render.js';
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
  /**
   * The legal hold the case is under after the change (issue #13): staff-written reason, since
   * when (ISO) and by whom; null or absent when not on hold (and in rows written before #13).
   */
  hold: z
    .object({ reason: z.string().nullable(), since: z.string().nullable(), by: z.string().nullable() })
    .nullable()
    .optional(),
});

export type CommandConfirmationPayload = z.infer<typeof commandConfirmationSchema>;

export const commandConfirmation = defineCaselessKind(commandConfirmationSchema, (m) => {
  const { config } = m.ctx;
  const { payload } = m;
  const { member, data } = staffCommon(m, payload.snapshot);
  const hold = payload.hold ?? null;
  const text = m.ctx.templates.render('command-confirmation', {
    ...data,
    authLabel: payload.authLabel ?? '',
    holdReason: hold?.reason ?? '',
    holdSince: hold?.since ? formatDate(hold.since, config.calendar.time_zone) : '',
    holdBy: hold?.by ?? '',
    outcomes: payload.outcomes,
    help: payload.help,
    helpText: member ? helpText(config.raci, member) : '',
    reply: m.row.kind === 'command-confirmation' && m.ctx.hasReply(payload.messageRowId),
  });
  return Promise.resolve(staffBuilt(m, text));
});
