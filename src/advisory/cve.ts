import type { AdvisorySnapshot, VersionRange } from './model.js';
import type { CweName } from './csaf.js';
import {
  baseSeverity,
  cvssVersionOf,
  fullCpe,
  productIds,
  productOf,
  type AdvisoryConfig,
} from './view-common.js';

/** The CVE JSON 5 schema version the record follows (the vendored CVE_Record_Format.json). */
export const CVE_DATA_VERSION = '5.1.0';

function version(r: VersionRange, versionType: string): Record<string, string> {
  if (r.exact !== null) return { version: r.exact, status: 'affected' };
  const from = r.introduced ?? '0';
  if (r.fixed !== null) return { version: from, lessThan: r.fixed, status: 'affected', versionType };
  if (r.lastAffected !== null)
    return { version: from, lessThanOrEqual: r.lastAffected, status: 'affected', versionType };
  return { version: from, lessThan: '*', status: 'affected', versionType };
}

/**
 * CVE JSON 5 record, ready to submit by the CNA `advisory.cna_org_id`. Expects what
 * `missingFor('cve', …)` asks for to be there.
 */
export function renderCve(
  s: AdvisorySnapshot,
  config: AdvisoryConfig,
  cweName: CweName,
): Record<string, unknown> {
  const f = s.fields;
  const lang = config.advisory.lang;
  const short = config.advisory.cna_short_name === '' ? {} : { shortName: config.advisory.cna_short_name };
  const affected: Record<string, unknown>[] = [];
  for (const pid of productIds(s)) {
    const ranges = f.affected.filter((a) => a.product === pid);
    if (ranges.length === 0) continue;
    const p = productOf(config, pid);
    const versionType = p?.version_scheme === 'ecosystem' ? 'custom' : 'semver';
    affected.push({
      vendor: p?.vendor ?? config.organisation.name,
      product: p?.name ?? pid,
      ...(p?.cpe !== undefined ? { cpes: [fullCpe(p.cpe, null)] } : {}),
      versions: ranges.map((a) => version(a.range, versionType)),
      defaultStatus: 'unaffected',
    });
  }
  const cna: Record<string, unknown> = {
    providerMetadata: { orgId: config.advisory.cna_org_id, ...short },
    title: f.title ?? '',
  };
  if (s.publishedAt !== null) cna.datePublic = s.publishedAt;
  cna.descriptions = [{ lang, value: f.summary ?? '' }];
  cna.affected = affected;
  if (f.cwe !== null) {
    const name = cweName(f.cwe);
    cna.problemTypes = [
      {
        descriptions: [
          { lang, type: 'CWE', cweId: f.cwe, description: name === null ? f.cwe : `${f.cwe} ${name}` },
        ],
      },
    ];
  }
  if (s.cvss !== null) {
    const v = cvssVersionOf(s.cvss.vector);
    const key = v === '4.0' ? 'cvssV4_0' : v === '3.1' ? 'cvssV3_1' : v === '3.0' ? 'cvssV3_0' : null;
    if (key !== null && v !== null)
      cna.metrics = [
        {
          format: 'CVSS',
          scenarios: [{ lang, value: 'GENERAL' }],
          [key]: {
            version: v,
            vectorString: s.cvss.vector,
            baseScore: s.cvss.score,
            baseSeverity: baseSeverity(s.cvss.score),
          },
        },
      ];
  }
  if (f.fixed.length > 0)
    cna.solutions = [
      {
        lang,
        value: f.fixed
          .map((x) => `Update ${productOf(config, x.product)?.name ?? x.product} to ${x.version} or later.`)
          .join(' '),
      },
    ];
  const references: Record<string, unknown>[] = [];
  if (s.advisoryUrl !== null) references.push({ url: s.advisoryUrl, tags: ['vendor-advisory'] });
  for (const url of f.references) references.push({ url });
  cna.references = references;
  if (s.credit !== null) cna.credits = [{ lang, value: s.credit, type: 'reporter' }];
  return {
    dataType: 'CVE_RECORD',
    dataVersion: CVE_DATA_VERSION,
    cveMetadata: {
      cveId: s.cve ?? '',
      assignerOrgId: config.advisory.cna_org_id,
      ...(config.advisory.cna_short_name === '' ? {} : { assignerShortName: config.advisory.cna_short_name }),
      state: 'PUBLISHED',
      ...(s.publishedAt !== null ? { datePublished: s.publishedAt } : {}),
    },
    containers: { cna },
  };
}
