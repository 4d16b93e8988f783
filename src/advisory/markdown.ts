import type { AdvisorySnapshot } from './model.js';
import {
  cvssVersionOf,
  dayOf,
  describeRange,
  productOf,
  publisherName,
  type AdvisoryConfig,
} from './view-common.js';

/**
 * The view model of the human advisory (issue #14), rendered by the editable Markdown template
 * `config/templates/advisory.txt` (src/8-outbox owns Handlebars:
 * `templates.render('advisory', advisoryView(snapshot, config))`). Pure. Every key is always
 * present (null when unset): the templates are strict, so a missing key is an error, not a gap.
 */
export function advisoryView(s: AdvisorySnapshot, config: AdvisoryConfig): Record<string, unknown> {
  const name = (id: string): string => productOf(config, id)?.name ?? id;
  const vendor = (id: string): string | null => productOf(config, id)?.vendor ?? null;
  const cwe = s.fields.cwe;
  return {
    caseId: s.caseId,
    title: s.fields.title,
    status: s.status,
    isDraft: s.status === 'draft',
    version: s.version,
    cve: s.cve,
    severity: s.severity,
    cvss:
      s.cvss === null
        ? null
        : { vector: s.cvss.vector, score: s.cvss.score.toFixed(1), version: cvssVersionOf(s.cvss.vector) },
    cwe,
    cweUrl: cwe === null ? null : `https://cwe.mitre.org/data/definitions/${cwe.replace(/^CWE-/, '')}.html`,
    summary: s.fields.summary,
    affected: s.fields.affected.map((a) => ({
      product: a.product,
      name: name(a.product),
      vendor: vendor(a.product),
      range: a.range.text,
      description: describeRange(a.range),
    })),
    fixed: s.fields.fixed.map((f) => ({
      product: f.product,
      name: name(f.product),
      vendor: vendor(f.product),
      version: f.version,
    })),
    references: [...s.fields.references],
    hasReferences: s.fields.references.length > 0 || s.advisoryUrl !== null,
    credit: s.credit,
    revisions: s.revisions.map((r) => ({ number: r.number, date: dayOf(r.date), summary: r.summary })),
    reportedOn: dayOf(s.reportedAt),
    publishedOn: s.publishedAt === null ? null : dayOf(s.publishedAt),
    discloseOn: s.discloseOn,
    advisoryUrl: s.advisoryUrl,
    frozenOn: dayOf(s.frozenAt),
    publisher: publisherName(config),
    publisherUrl: config.advisory.publisher_namespace,
    securityAddress: config.organisation.security_address,
  };
}
