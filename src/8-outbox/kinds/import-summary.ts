import { z } from 'zod';
import { formatDate } from '../render.js';
import { autoSubmittedSchema, defineCaselessKind, staffProtection } from './kind.js';

/**
 * The one mail to the security staff after `psirt import` recorded a mailbox's old mail as
 * history (issue #15). Counts and dates only: never a subject, an address or any content of the
 * imported mail. Its text is built here, not from an organisation template: it is a fixed
 * operational notice (like a log summary), and a new required template would stop the start of
 * every installation with its own template folder.
 */
export const importSummarySchema = z.object({
  template: z.literal('import-summary'),
  autoSubmitted: autoSubmittedSchema,
  source: z.enum(['imap', 'mbox', 'maildir']),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  runs: z.number().int().min(1),
  casesCreated: z.number().int().min(0),
  followUps: z.number().int().min(0),
  quarantined: z.number().int().min(0),
  other: z.number().int().min(0),
});

export type ImportSummaryPayload = z.infer<typeof importSummarySchema>;

const SOURCE_WORDS = {
  imap: 'the mail already in the security mailbox',
  mbox: 'an mbox export',
  maildir: 'a Maildir export',
} as const;

export const importSummary = defineCaselessKind(importSummarySchema, ({ ctx, row, payload: p, base }) => {
  const tz = ctx.config.calendar.time_zone;
  const text = [
    `psirt import recorded ${SOURCE_WORDS[p.source]} as history.`,
    '',
    `  cases created:          ${p.casesCreated}`,
    `  follow-ups threaded:    ${p.followUps}`,
    `  quarantined:            ${p.quarantined}`,
    `  other (staff mail, auto-replies, bounces, duplicates): ${p.other}`,
    `  started:                ${formatDate(p.startedAt, tz)}`,
    `  finished:               ${formatDate(p.finishedAt, tz)}${p.runs > 1 ? ` (resumed, ${p.runs} runs)` : ''}`,
    '',
    'Nothing was sent to anyone for this mail: no acknowledgment, no notification. The cases carry',
    'their original dates; their deadlines are historical and never escalated. Staff commands in',
    'the old mail were recorded, not applied. `psirt cases list` shows the cases.',
    '',
  ].join('\n');
  return Promise.resolve({
    mail: { ...base, text },
    protection: staffProtection(ctx, row.recipients),
    envelopeFrom: ctx.config.organisation.security_address,
  });
});
