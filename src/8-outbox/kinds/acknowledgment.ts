import { z } from 'zod';
import { hasFlagIn, UNREADABLE_FLAGS } from '../../core/flags.js';
import { formatFingerprint } from '../../core/fingerprint.js';
import { formatSpan } from '../../policy/wording.js';
import { formatDate } from '../render.js';
import {
  autoSubmittedSchema,
  defineKind,
  flagsSchema,
  messageRowIdSchema,
  reporterProtection,
  caseDates,
} from './kind.js';

/** The automatic answer to a new report (or the one a staff `/ack` releases). */
export const acknowledgmentSchema = z.object({
  template: z.literal('acknowledgment'),
  /** The report. */
  messageRowId: messageRowIdSchema,
  autoSubmitted: autoSubmittedSchema,
  /** The report's flags: unreadable mail gets only "it arrived". */
  flags: flagsSchema,
});

export type AcknowledgmentPayload = z.infer<typeof acknowledgmentSchema>;

export const acknowledgment = defineKind(acknowledgmentSchema, ({ ctx, row, payload, case: c, base }) => {
  const { config } = ctx;
  const tz = config.calendar.time_zone;
  const key = ctx.pinnedKey(row.recipients[0] ?? '');
  const { received, triageBy } = caseDates(ctx, c);
  const fix = config.deadlines.fix;
  const data = {
    caseId: c.id,
    reporterName: c.reporter_name ?? '',
    organisation: config.organisation.name,
    securityAddress: config.organisation.security_address,
    receivedAt: received,
    triageBy,
    // The verify deadline the case store derived (deriveDeadlines), the one the escalation
    // sweep enforces; computed the same way only for a case that has none stored.
    verifyBy: formatDate(
      c.deadlines.verify ?? ctx.calendar.add(new Date(c.created_at), config.deadlines.verify).toISOString(),
      tz,
    ),
    fixCritical: formatSpan({ amount: fix.critical, unit: fix.unit }),
    fixHigh: formatSpan({ amount: fix.high, unit: fix.unit }),
    fixMedium: formatSpan({ amount: fix.medium, unit: fix.unit }),
    fixLow: formatSpan({ amount: fix.low, unit: fix.unit }),
    disclose: formatSpan(config.deadlines.disclose),
    encrypted: key !== null,
    teamFingerprint: formatFingerprint(ctx.teamFingerprint),
    // The same safe-harbour words as SECURITY.md (public_channel.safe_harbour), wrapped for mail.
    safeHarbour: wrapLines(config.public_channel.safe_harbour, 72),
  };
  // Unreadable mail gets only "it arrived" (never the error, never the ciphertext).
  const unreadable = hasFlagIn(UNREADABLE_FLAGS, payload.flags);
  const text = ctx.templates.render(unreadable ? 'acknowledgment-unreadable' : 'acknowledgment', data);
  return Promise.resolve({
    mail: { ...base, text },
    protection: reporterProtection(key),
    envelopeFrom: config.smtp.envelope_from,
  });
});

/** Plain text in lines of at most `width` characters (a longer word keeps its own line). */
export function wrapLines(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}
