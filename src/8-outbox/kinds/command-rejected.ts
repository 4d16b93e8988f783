import { z } from 'zod';
import { autoSubmittedSchema, defineCaselessKind, flagsSchema, messageRowIdSchema } from './kind.js';
import { staffBuilt, staffCommon } from './staff-mail.js';

/** The answer to a staff mail that tried to command but was not authenticated (or a replay). */
export const commandRejectedSchema = z.object({
  template: z.literal('command-rejected'),
  /** The refused mail. */
  messageRowId: messageRowIdSchema,
  autoSubmitted: autoSubmittedSchema,
  flags: flagsSchema,
  /** Why the mail was not authenticated (or was a replay, or was changed after signing). */
  reason: z.string(),
  replay: z.boolean(),
  tampered: z.boolean(),
  /** The Message-ID the mail claimed; null when it had none. */
  claimedMessageId: z.string().nullable(),
  /** What it tried: each command as written. */
  commands: z.array(z.string()),
});

export type CommandRejectedPayload = z.infer<typeof commandRejectedSchema>;

export const commandRejected = defineCaselessKind(commandRejectedSchema, (m) => {
  const { config } = m.ctx;
  const { payload } = m;
  const text = m.ctx.templates.render('command-rejected', {
    ...staffCommon(m, null).data,
    reason: payload.reason,
    replay: payload.replay,
    tampered: payload.tampered,
    commands: payload.commands.join(' '),
    claimedMessageId: payload.claimedMessageId ?? '(none)',
    dkim: config.commands.dkim_verify || config.commands.trusted_authserv_ids.length > 0,
    maxAgeHours: config.commands.max_signature_age_hours,
  });
  return Promise.resolve(staffBuilt(m, text));
});
