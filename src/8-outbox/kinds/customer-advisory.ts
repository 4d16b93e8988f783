import { z } from 'zod';
import type { AdvisorySnapshot } from '../../advisory/model.js';
import { PsirtError } from '../../core/errors.js';
import { formatDate } from '../render.js';
import {
  autoSubmittedSchema,
  defineKind,
  flagsSchema,
  messageRowIdSchema,
  type MailContext,
} from './kind.js';

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

/** What the template shows of a frozen revision: the published advisory, nothing of the report. */
export function customerAdvisoryView(ctx: MailContext, doc: AdvisorySnapshot) {
  const { config } = ctx;
  const tz = config.calendar.time_zone;
  const name = (id: string): string => config.products.find((p) => p.id === id)?.name ?? id;
  const f = doc.fields;
  const current = doc.revisions.find((r) => r.number === doc.version);
  return {
    caseId: doc.caseId,
    revision: doc.version,
    title: f.title ?? `Security advisory ${doc.caseId}`,
    summary: f.summary ?? '',
    cve: doc.cve ?? '',
    cwe: f.cwe ?? '',
    severity: doc.severity ?? '',
    cvssScore: doc.cvss?.score.toFixed(1) ?? '',
    cvssVector: doc.cvss?.vector ?? '',
    affected: f.affected.map((a) => ({ product: name(a.product), range: a.range.text })),
    fixed: f.fixed.map((x) => ({ product: name(x.product), version: x.version })),
    references: f.references,
    advisoryUrl: doc.advisoryUrl ?? '',
    published: doc.publishedAt === null ? '' : formatDate(doc.publishedAt, tz),
    credit: doc.credit ?? '',
    changeNote: current?.summary ?? '',
    history: doc.revisions.map((r) => ({
      number: r.number,
      date: formatDate(r.date, tz),
      summary: r.summary,
    })),
  };
}

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
    const text = ctx.templates.render('customer-advisory', {
      ...customerAdvisoryView(ctx, doc),
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
