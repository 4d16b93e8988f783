import { z } from 'zod';
import { PROBE_HEADER } from '../../policy/deadman.js';
import { autoSubmittedSchema, defineCaselessKind } from './kind.js';

/**
 * The dead-man's probe (#15): a mail from smtp.from_address to the service's own mailbox. Its
 * header carries a token and a MAC only a holder of the team key can make; the intake files a
 * probe whose MAC holds and whose token is out, and treats anything else as ordinary mail.
 */
export const mailProbeSchema = z.object({
  template: z.literal('mail-probe'),
  autoSubmitted: autoSubmittedSchema,
  /** The X-Psirt-Probe value (formatProbeHeader): token, time, data key id and MAC. */
  header: z.string().max(256),
});

export type MailProbePayload = z.infer<typeof mailProbeSchema>;

export const mailProbe = defineCaselessKind(mailProbeSchema, ({ ctx, payload: p, base }) => {
  const { config } = ctx;
  const text = ctx.templates.render('mail-probe', {
    interval: config.deadman.interval_seconds,
    window: config.deadman.window_seconds,
  });
  return Promise.resolve({
    mail: { ...base, headers: { ...base.headers, [PROBE_HEADER]: p.header }, text },
    protection: { kind: 'signed' as const },
    // A probe that bounces comes back to the service's own identity.
    envelopeFrom: config.smtp.from_address,
  });
});
