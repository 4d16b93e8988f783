import { z } from 'zod';
import { timeLeft, type ChannelSubject } from '../../policy/channel-watch.js';
import { formatFingerprint } from '../../core/fingerprint.js';
import { formatSpan } from '../../policy/wording.js';
import { formatDate } from '../render.js';
import { autoSubmittedSchema, defineCaselessKind, staffProtection } from './kind.js';

const TEAM_KEY = 'team-key:';

const channelSubjectSchema: z.ZodType<ChannelSubject> = z.union([
  z.literal('security.txt'),
  z.templateLiteral([TEAM_KEY, z.string().regex(/^[0-9A-F]{40,64}$/)]),
]);

/**
 * The warning to the accountable role that the public channel goes stale (issue #12): the
 * published security.txt's Expires, or the signing team key's expiry, is `watch_before` ahead or
 * past. About no case, and so it carries no case content: there is none.
 */
export const channelExpirySchema = z.object({
  template: z.literal('channel-expiry'),
  autoSubmitted: autoSubmittedSchema,
  /** What expires (`channel_alerts.subject`). */
  subject: channelSubjectSchema,
  /** When, as an ISO instant (`channel_alerts.expires_at`). */
  expiresAt: z.iso.datetime(),
});

export type ChannelExpiryPayload = z.infer<typeof channelExpirySchema>;

export const channelExpiry = defineCaselessKind(channelExpirySchema, ({ ctx, row, payload: p, base }) => {
  const { config } = ctx;
  const now = ctx.clock.now();
  const expires = new Date(p.expiresAt);
  const fingerprint = p.subject.startsWith(TEAM_KEY) ? p.subject.slice(TEAM_KEY.length) : null;
  const text = ctx.templates.render('channel-expiry', {
    securityTxt: fingerprint === null,
    fingerprint: fingerprint === null ? '' : formatFingerprint(fingerprint),
    fingerprintHex: fingerprint ?? '',
    expires: formatDate(p.expiresAt, config.calendar.time_zone),
    expiresIso: p.expiresAt,
    past: expires.getTime() <= now.getTime(),
    left: timeLeft(expires, now),
    watchBefore: formatSpan(config.public_channel.watch_before),
    canonical: config.public_channel.canonical,
  });
  return Promise.resolve({
    mail: { ...base, text },
    protection: staffProtection(ctx, row.recipients),
    envelopeFrom: config.organisation.security_address,
  });
});
