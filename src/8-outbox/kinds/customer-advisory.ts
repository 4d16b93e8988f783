import { z } from 'zod';
import { advisoryView } from '../../advisory/markdown.js';
import { PsirtError } from '../../core/errors.js';
import { autoSubmittedSchema, defineKind, flagsSchema, messageRowIdSchema } from './kind.js';

/**
 * The published advisory to one customer running an affected product (`/notify`, issue #14):
 * the frozen revision, rendered as the human advisory. Encrypted to the customer's configured
 * key (`customers[].key_file`), signed otherwise: by now the advisory is public.
 */
export const customerAdvisorySchema = z.object({
  template: z.literal('customer-advisory'),
  /** The command mail with `/notify`. */
  messageRowId: messageRowIdSchema,
  autoSubmitted: autoSubmittedSchema,
  flags: flagsSchema,
  /** `customers[].name`. */
  customer: z.string().min(1),
  /** The published revision sent (`advisory_versions` kind revision). */
  revision: z.number().int().min(1),
  /** The customer was told of an earlier revision: this one goes out as an update. */
  update: z.boolean(),
  /** A key was configured when it was queued: the mail must go encrypted, never in clear. */
  encrypted: z.boolean(),
});

export type CustomerAdvisoryPayload = z.infer<typeof customerAdvisorySchema>;

export const customerAdvisory = defineKind(
  customerAdvisorySchema,
  ({ ctx, row, payload: p, case: c, base }) => {
    const { config } = ctx;
    const doc = ctx.advisoryVersion(c.id, 'revision', p.revision);
    if (doc === null) {
      throw new PsirtError('advisory_missing', `case ${c.id} has no revision ${p.revision} of its advisory`);
    }
    const key = p.encrypted ? ctx.customerKey(p.customer) : null;
    if (p.encrypted && key === null) {
      // Configured with a key when queued: never sent in clear because the key went missing.
      throw new PsirtError('customer_key_missing', `no key is loaded for customer ${p.customer}`);
    }
    const current = doc.revisions.find((r) => r.number === doc.version);
    const text = ctx.templates.render('customer-advisory', {
      caseId: doc.caseId,
      revision: doc.version,
      changeNote: current?.summary ?? '',
      // The human advisory, from the same editable template as the reporter's draft and the CLI.
      advisory: ctx.templates.render('advisory', advisoryView(doc, config)).replace(/\r\n/g, '\n'),
      customer: p.customer,
      update: p.update,
      encrypted: key !== null,
      organisation: config.organisation.name,
      securityAddress: config.organisation.security_address,
    });
    return Promise.resolve({
      mail: {
        ...base,
        from: { name: config.smtp.from_name, address: config.organisation.security_address },
        // One recipient: the row's (never several customers in one mail).
        to: row.recipients.slice(0, 1),
        text,
      },
      protection: key === null ? { kind: 'signed' } : { kind: 'encrypted', recipientKeys: [key] },
      envelopeFrom: config.organisation.security_address,
    });
  },
);
