import type { Product } from '../config/schema.js';
import type { AdvisorySnapshot, VersionRange } from './model.js';
import { cvssVersionOf, productIds, productOf, type AdvisoryConfig } from './view-common.js';

/** OSV ecosystems of the purl types that map one to one (OSV schema, "Affected package"). */
const PURL_ECOSYSTEMS: Record<string, string> = {
  npm: 'npm',
  pypi: 'PyPI',
  maven: 'Maven',
  golang: 'Go',
  cargo: 'crates.io',
  gem: 'RubyGems',
  nuget: 'NuGet',
  composer: 'Packagist',
  hex: 'Hex',
  pub: 'Pub',
  hackage: 'Hackage',
  cran: 'CRAN',
};

/** OSV `affected[].package` of a product: osv_ecosystem + osv_package, else from its purl; null: neither. */
export function osvPackage(p: Product): { ecosystem: string; name: string; purl?: string } | null {
  const purl = p.purl === undefined ? {} : { purl: p.purl };
  if (p.osv_ecosystem !== undefined && p.osv_package !== undefined)
    return { ecosystem: p.osv_ecosystem, name: p.osv_package, ...purl };
  if (p.purl === undefined) return null;
  const m = /^pkg:([a-z][a-z0-9.+-]*)\/([^?#@]+)/.exec(p.purl);
  const type = m?.[1] ?? '';
  const ecosystem = PURL_ECOSYSTEMS[type];
  if (m === null || ecosystem === undefined) return null;
  const segments = (m[2] ?? '').split('/').map((x) => decodeURIComponent(x));
  const name = type === 'maven' ? segments.join(':') : segments.join('/');
  return { ecosystem, name, purl: p.purl };
}

function events(r: VersionRange): Record<string, string>[] {
  const e: Record<string, string>[] = [{ introduced: r.introduced ?? '0' }];
  if (r.fixed !== null) e.push({ fixed: r.fixed });
  if (r.lastAffected !== null) e.push({ last_affected: r.lastAffected });
  return e;
}

/** OSV record `<advisory.osv_prefix>-<case id>`. Expects what `missingFor('osv', …)` asks for. */
export function renderOsv(s: AdvisorySnapshot, config: AdvisoryConfig): Record<string, unknown> {
  const f = s.fields;
  const affected: Record<string, unknown>[] = [];
  for (const pid of productIds(s)) {
    const p = productOf(config, pid);
    const pkg = p === undefined ? null : osvPackage(p);
    const ranges = f.affected.filter((a) => a.product === pid);
    if (p === undefined || pkg === null || ranges.length === 0) continue;
    const type = p.version_scheme === 'ecosystem' ? 'ECOSYSTEM' : 'SEMVER';
    const entry: Record<string, unknown> = { package: pkg };
    const rs = ranges.filter((a) => a.range.exact === null).map((a) => ({ type, events: events(a.range) }));
    const versions = ranges
      .filter((a) => a.range.exact !== null)
      .flatMap((a) => (a.range.exact === null ? [] : [a.range.exact]));
    if (rs.length > 0) entry.ranges = rs;
    if (versions.length > 0) entry.versions = versions;
    const fixedIn = f.fixed.filter((x) => x.product === pid).map((x) => x.version);
    entry.database_specific = { product: pid, ...(fixedIn.length > 0 ? { fixed_in: fixedIn } : {}) };
    affected.push(entry);
  }
  const references: Record<string, string>[] = [];
  if (s.advisoryUrl !== null) references.push({ type: 'ADVISORY', url: s.advisoryUrl });
  for (const url of f.references) references.push({ type: 'WEB', url });
  const version = s.cvss === null ? null : cvssVersionOf(s.cvss.vector);
  const doc: Record<string, unknown> = {
    schema_version: '1.6.0',
    id: `${config.advisory.osv_prefix}-${s.caseId}`,
    modified: s.frozenAt,
  };
  if (s.publishedAt !== null) doc.published = s.publishedAt;
  if (s.cve !== null) doc.aliases = [s.cve];
  doc.summary = f.title ?? '';
  doc.details = f.summary ?? '';
  if (s.cvss !== null && version !== null)
    doc.severity = [{ type: version === '4.0' ? 'CVSS_V4' : 'CVSS_V3', score: s.cvss.vector }];
  doc.affected = affected;
  if (references.length > 0) doc.references = references;
  if (s.credit !== null) doc.credits = [{ name: s.credit, type: 'REPORTER' }];
  doc.database_specific = {
    ...(f.cwe !== null ? { cwe_ids: [f.cwe] } : {}),
    ...(s.severity !== null ? { severity: s.severity.toUpperCase() } : {}),
    status: s.status,
    version: s.version,
  };
  return doc;
}
