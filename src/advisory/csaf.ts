import type { AdvisorySnapshot, VersionRange } from './model.js';
import {
  baseSeverity,
  cvssVersionOf,
  fullCpe,
  productIds,
  productOf,
  publisherName,
  purlAt,
  type AdvisoryConfig,
} from './view-common.js';

/** The CWE catalogue name of an id (validate.ts `cweName`), injected so this module stays pure. */
export type CweName = (id: string) => string | null;

/**
 * Versions (semantic versioning, CSAF §3.1.11.5.2): published revision N is `N.0.0`; draft k
 * before the first publication is `0.k.0` (mandatory test 6.1.17: a draft is 0.y.z or a
 * pre-release); draft k of the update after revision N is `(N+1).0.0-draft.k`, its history entry
 * `(N+1).0.0` (6.1.19: no pre-release in the history; 6.1.16 ignores it for a draft).
 */
export function csafVersion(s: AdvisorySnapshot): { version: string; entry: string | null } {
  if (s.status === 'final') return { version: `${s.version}.0.0`, entry: null };
  if (s.revisions.length === 0) return { version: `0.${s.version}.0`, entry: `0.${s.version}.0` };
  const next = s.revisions.length + 1;
  return { version: `${next}.0.0-draft.${s.version}`, entry: `${next}.0.0` };
}

function versRange(scheme: string, r: VersionRange): string {
  if (r.all) return `vers:${scheme}/*`;
  const c: string[] = [];
  if (r.introduced !== null) c.push(`>=${r.introduced}`);
  if (r.fixed !== null) c.push(`<${r.fixed}`);
  if (r.lastAffected !== null) c.push(`<=${r.lastAffected}`);
  return `vers:${scheme}/${c.join('|')}`;
}

/**
 * CSAF 2.0 `csaf_security_advisory` (OASIS CSAF 2.0). Expects what `missingFor('csaf', …)` asks
 * for to be there. A CVSS 4.0 vector has no place in CSAF 2.0 (cvss_v2/cvss_v3 only): it is kept
 * as a vulnerability note ("CVSS v4.0"), and the severity as the document's aggregate_severity.
 */
export function renderCsaf(
  s: AdvisorySnapshot,
  config: AdvisoryConfig,
  cweName: CweName,
): Record<string, unknown> {
  const f = s.fields;
  const { version, entry } = csafVersion(s);
  const history = s.revisions.map((r) => ({ date: r.date, number: `${r.number}.0.0`, summary: r.summary }));
  if (entry !== null)
    history.push({
      date: s.frozenAt,
      number: entry,
      summary: `Draft ${s.version} for review, not published`,
    });
  const initial = s.revisions[0]?.date ?? s.publishedAt ?? s.frozenAt;
  const current = s.status === 'final' ? (s.revisions.at(-1)?.date ?? s.frozenAt) : s.frozenAt;

  let n = 0;
  const nextId = (): string => `CSAFPID-${String(++n).padStart(4, '0')}`;
  const affectedIds = new Map<string, string[]>();
  const fixedIds = new Map<string, string[]>();
  const vendors = new Map<string, Record<string, unknown>[]>();
  for (const pid of productIds(s)) {
    const p = productOf(config, pid);
    const name = p?.name ?? pid;
    const vendor = p?.vendor ?? config.organisation.name;
    const scheme =
      p?.version_scheme === 'ecosystem' ? (p.purl?.slice(4).split('/')[0] ?? 'generic') : 'semver';
    const helper = (v: string | null): Record<string, unknown> | undefined => {
      const h: Record<string, unknown> = {};
      if (p?.cpe !== undefined) h.cpe = fullCpe(p.cpe, v);
      if (p?.purl !== undefined) h.purl = purlAt(p.purl, v);
      return Object.keys(h).length > 0 ? h : undefined;
    };
    const leaves: Record<string, unknown>[] = [];
    const leaf = (category: string, leafName: string, label: string, v: string | null): string => {
      const id = nextId();
      const h = helper(v);
      leaves.push({
        category,
        name: leafName,
        product: {
          name: `${vendor} ${name} ${label}`,
          product_id: id,
          ...(h ? { product_identification_helper: h } : {}),
        },
      });
      return id;
    };
    for (const a of f.affected.filter((x) => x.product === pid)) {
      const id =
        a.range.exact !== null
          ? leaf('product_version', a.range.exact, a.range.exact, a.range.exact)
          : leaf('product_version_range', versRange(scheme, a.range), a.range.text, null);
      affectedIds.set(pid, [...(affectedIds.get(pid) ?? []), id]);
    }
    for (const x of f.fixed.filter((y) => y.product === pid)) {
      fixedIds.set(pid, [
        ...(fixedIds.get(pid) ?? []),
        leaf('product_version', x.version, x.version, x.version),
      ]);
    }
    const products = vendors.get(vendor) ?? [];
    products.push({ category: 'product_name', name, branches: leaves });
    vendors.set(vendor, products);
  }
  const allAffected = [...affectedIds.values()].flat();
  const allFixed = [...fixedIds.values()].flat();

  const cvssVersion = s.cvss === null ? null : cvssVersionOf(s.cvss.vector);
  const notes: Record<string, unknown>[] = [
    { category: 'description', title: 'Description', text: f.summary ?? '' },
  ];
  if (s.cvss !== null && cvssVersion === '4.0')
    notes.push({
      category: 'other',
      title: 'CVSS v4.0',
      text: `${s.cvss.vector} (base score ${s.cvss.score.toFixed(1)}). CSAF 2.0 has no CVSS v4.0 score; the vector is given here.`,
    });

  const vulnerability: Record<string, unknown> = {};
  if (s.cve !== null) vulnerability.cve = s.cve;
  if (f.cwe !== null) vulnerability.cwe = { id: f.cwe, name: cweName(f.cwe) ?? f.cwe };
  vulnerability.notes = notes;
  vulnerability.product_status = {
    known_affected: allAffected,
    ...(allFixed.length > 0 ? { fixed: allFixed } : {}),
  };
  const remediations = f.fixed.map((x) => {
    const ids = affectedIds.get(x.product) ?? fixedIds.get(x.product) ?? [];
    const p = productOf(config, x.product);
    return {
      category: 'vendor_fix',
      details: `Update ${p?.name ?? x.product} to ${x.version} or later.`,
      product_ids: ids,
      ...(s.advisoryUrl !== null ? { url: s.advisoryUrl } : {}),
    };
  });
  if (remediations.length > 0) vulnerability.remediations = remediations;
  if (s.cvss !== null && (cvssVersion === '3.0' || cvssVersion === '3.1') && allAffected.length > 0)
    vulnerability.scores = [
      {
        cvss_v3: {
          version: cvssVersion,
          vectorString: s.cvss.vector,
          baseScore: s.cvss.score,
          baseSeverity: baseSeverity(s.cvss.score),
        },
        products: allAffected,
      },
    ];
  const references: Record<string, unknown>[] = [];
  if (s.advisoryUrl !== null)
    references.push({ category: 'self', summary: 'This advisory', url: s.advisoryUrl });
  for (const url of f.references) references.push({ category: 'external', summary: 'Reference', url });

  const document: Record<string, unknown> = {
    category: 'csaf_security_advisory',
    csaf_version: '2.0',
    publisher: {
      category: config.advisory.publisher_category,
      name: publisherName(config),
      namespace: config.advisory.publisher_namespace,
      contact_details: config.organisation.security_address,
    },
    title: f.title ?? '',
    lang: config.advisory.lang,
    distribution: {
      text:
        s.status === 'draft'
          ? 'Draft for review: confidential until the agreed disclosure.'
          : 'Public advisory.',
      tlp: { label: s.status === 'draft' ? 'AMBER' : 'WHITE' },
    },
    tracking: {
      id: s.caseId,
      status: s.status,
      version,
      revision_history: history,
      initial_release_date: initial,
      current_release_date: current,
      generator: { engine: { name: 'psirt-inbox' }, date: s.frozenAt },
    },
    notes: [{ category: 'summary', title: 'Summary', text: f.summary ?? '' }],
  };
  if (s.severity !== null) document.aggregate_severity = { text: s.severity };
  if (references.length > 0) document.references = references;
  if (s.credit !== null) document.acknowledgments = [{ names: [s.credit] }];
  // Key order as in the standard's examples: document, product_tree, vulnerabilities.
  const ordered: Record<string, unknown> = {};
  for (const k of [
    'category',
    'csaf_version',
    'publisher',
    'title',
    'lang',
    'aggregate_severity',
    'distribution',
    'tracking',
    'notes',
    'references',
    'acknowledgments',
  ])
    if (document[k] !== undefined) ordered[k] = document[k];
  return {
    document: ordered,
    product_tree: {
      branches: [...vendors].map(([vendor, products]) => ({
        category: 'vendor',
        name: vendor,
        branches: products,
      })),
    },
    vulnerabilities: [vulnerability],
  };
}
