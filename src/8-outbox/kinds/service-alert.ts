import { z } from 'zod';
import { formatDate } from '../render.js';
import { autoSubmittedSchema, defineCaselessKind, staffProtection } from './kind.js';

/**
 * An alarm the service raised or cleared about itself (#15): the mail round trip was lost, the
 * intake stalled, the SMTP relay is down — and the all-clear. Written with the `alarms` row in
 * one transaction (src/7-cases/alarm-store.ts), so each outage mails once each way. Names, times
 * and counts only: never mail content, a subject or a reporter's address.
 */
export const serviceAlertSchema = z.object({
  template: z.literal('service-alert'),
  autoSubmitted: autoSubmittedSchema,
  alarm: z.enum(['mail-roundtrip', 'intake-stalled', 'relay-down']),
  event: z.enum(['raised', 'cleared']),
  /** When the trouble began (`alarms.raised_at`, or the first failure it stands for). */
  since: z.iso.datetime(),
  /** When it was cleared (the all-clear only). */
  clearedAt: z.iso.datetime().nullable(),
  /** The service's own words: counts, times, host:port. */
  detail: z.string().max(500),
});

export type ServiceAlertPayload = z.infer<typeof serviceAlertSchema>;

export const serviceAlert = defineCaselessKind(serviceAlertSchema, ({ ctx, row, payload: p, base }) => {
  const { config } = ctx;
  const tz = config.calendar.time_zone;
  const text = ctx.templates.render('service-alert', {
    raised: p.event === 'raised',
    roundtrip: p.alarm === 'mail-roundtrip',
    intakeStalled: p.alarm === 'intake-stalled',
    relayDown: p.alarm === 'relay-down',
    alarm: p.alarm,
    since: formatDate(p.since, tz),
    clearedAt: p.clearedAt === null ? '' : formatDate(p.clearedAt, tz),
    detail: p.detail,
    mailbox: config.deadman.probe_to === '' ? config.organisation.security_address : config.deadman.probe_to,
    relay: `${config.smtp.host}:${String(config.smtp.port)}`,
  });
  return Promise.resolve({
    mail: { ...base, text },
    // To several people signed only; to one staff member with a key, encrypted.
    protection:
      row.recipients.length === 1 ? staffProtection(ctx, row.recipients) : { kind: 'signed' as const },
    envelopeFrom: config.smtp.envelope_from,
  });
});
