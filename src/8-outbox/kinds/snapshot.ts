import { z } from 'zod';
import { STAGES } from '../../6-commands/lifecycle.js';
import { RESOLUTIONS, SEVERITIES } from '../../core/vocabulary.js';

/** What the confirmation and status mails show of a case: metadata only, never report content. */
export const snapshotSchema = z.object({
  stage: z.enum(STAGES),
  resolution: z.enum(RESOLUTIONS).nullable(),
  severity: z.enum(SEVERITIES).nullable(),
  cvssScore: z.number().nullable(),
  cvssVector: z.string().nullable(),
  assignee: z.string().nullable(),
  onHold: z.boolean(),
  waitingOnReporter: z.boolean(),
  tags: z.array(z.string()),
  cve: z.string().nullable(),
  fixDue: z.string().nullable(),
  discloseOn: z.string().nullable(),
  advisoryUrl: z.string().nullable(),
  credit: z.string().nullable(),
  duplicateOf: z.string().nullable(),
});

export type CaseSnapshot = z.infer<typeof snapshotSchema>;
