import { z } from 'zod';
import { STATUS_EVENTS } from '../../config/schema.js';
import { autoSubmittedSchema, defineKind, flagsSchema, messageRowIdSchema } from './kind.js';
import { reporterBuilt, reporterData } from './reporter-mail.js';
import { snapshotSchema } from './snapshot.js';

/** A status mail to the reporter (`status_mails.events`): triaged, fixed, published, closed… */
export const reporterStatusSchema = z.object({
  template: z.literal('reporter-status'),
  /** The command mail that changed the case. */
  messageRowId: messageRowIdSchema,
  autoSubmitted: autoSubmittedSchema,
  flags: flagsSchema,
  snapshot: snapshotSchema.nullable(),
  /** Which status mail (template `status-<event>`). */
  statusEvent: z.enum(STATUS_EVENTS),
  /**
   * `disclosure-scheduled` only: the agreed date this one replaces, when the date changed (issue
   * #14). Optional, so rows queued before it existed still parse (and say no previous date).
   */
  previousDiscloseOn: z.iso.date().optional(),
});

export type ReporterStatusPayload = z.infer<typeof reporterStatusSchema>;

export const reporterStatus = defineKind(reporterStatusSchema, (m) => {
  const { key, data } = reporterData(m, m.payload.snapshot);
  const text = m.ctx.templates.render(`status-${m.payload.statusEvent}`, {
    ...data,
    previousDiscloseOn: m.payload.previousDiscloseOn ?? '',
  });
  return Promise.resolve(reporterBuilt(m, key, text));
});
