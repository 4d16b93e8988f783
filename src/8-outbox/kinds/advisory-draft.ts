import { z } from 'zod';
import { advisoryView } from '../../advisory/markdown.js';
import { PsirtError } from '../../core/errors.js';
import { autoSubmittedSchema, defineKind, flagsSchema, messageRowIdSchema } from './kind.js';
import { reporterBuilt, reporterData } from './reporter-mail.js';

/**
 * The advisory draft for the reporter (issue #14, `/draft`): the human advisory of one frozen
 * draft version, asking for corrections and how they want to be credited. The payload names the
 * version, never its text (payloads are stored in clear); the mailer opens the sealed version.
 */
export const advisoryDraftSchema = z.object({
  template: z.literal('advisory-draft'),
  /** The staff command mail that sent it. */
  messageRowId: messageRowIdSchema,
  autoSubmitted: autoSubmittedSchema,
  flags: flagsSchema,
  /** The draft number (`advisory_versions` kind draft). */
  draft: z.number().int().positive(),
  /** Who sent it. */
  staffName: z.string(),
  /**
   * Decided when queued: the reporter's key was pinned. Such a draft never goes in clear, even
   * when the key is gone by the time it is sent (a retry after a purge or a key change).
   */
  encrypted: z.boolean(),
});

export type AdvisoryDraftPayload = z.infer<typeof advisoryDraftSchema>;

export const advisoryDraft = defineKind(advisoryDraftSchema, async (m) => {
  const snapshot = m.ctx.advisoryVersion(m.case.id, 'draft', m.payload.draft);
  if (snapshot === null) {
    throw new PsirtError('advisory_missing', `case ${m.case.id} has no advisory draft ${m.payload.draft}`);
  }
  const { key, data } = reporterData(m, null);
  if (m.payload.encrypted && key === null) {
    throw new PsirtError(
      'reporter_key_missing',
      `case ${m.case.id}: the reporter's key is gone; the draft is not sent in clear`,
    );
  }
  const text = m.ctx.templates.render('advisory-draft', {
    ...data,
    staffName: m.payload.staffName,
    draft: m.payload.draft,
    credit: snapshot.credit ?? '',
    advisory: m.ctx.templates.render('advisory', advisoryView(snapshot, m.ctx.config)),
  });
  return Promise.resolve(reporterBuilt(m, key, text));
});
