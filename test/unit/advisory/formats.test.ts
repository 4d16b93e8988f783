import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csafVersion, renderCsaf } from '../../../src/advisory/csaf.js';
import { CVE_DATA_VERSION, renderCve } from '../../../src/advisory/cve.js';
import { renderOsv } from '../../../src/advisory/osv.js';
import { missingFor } from '../../../src/advisory/requirements.js';
import {
  cweName as realCweName,
  validateCsaf,
  validateCve,
  validateOsv,
} from '../../../src/advisory/validate.js';
import { REPO } from '../../support/stack.js';
import { config, draftSnapshot, expectGolden, publishedSnapshot, range } from './fixture.js';

const cweName = (id: string): string | null => (id === 'CWE-787' ? 'Out-of-bounds Write' : null);
const json = (doc: unknown): string => `${JSON.stringify(doc, null, 2)}\n`;
const V4 = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N';

describe('renderCsaf()', () => {
  it('renders a published revision as the reviewed golden', () => {
    expectGolden('SEC-2026-0042.csaf.json', json(renderCsaf(publishedSnapshot(), config, cweName)));
  });

  it('renders a first draft as the reviewed golden (status draft, version 0.1.0)', () => {
    const doc = renderCsaf(draftSnapshot(), config, cweName);
    expectGolden('SEC-2026-0042.draft-1.csaf.json', json(doc));
    expect((doc.document as { tracking: { version: string } }).tracking.version).toBe('0.1.0');
  });

  it('versions: revision N is N.0.0, a draft before publication 0.k.0, a draft of an update a pre-release', () => {
    expect(csafVersion(publishedSnapshot())).toEqual({ version: '2.0.0', entry: null });
    expect(csafVersion(draftSnapshot({ version: 3 }))).toEqual({ version: '0.3.0', entry: '0.3.0' });
    const update = publishedSnapshot({ status: 'draft', version: 1 });
    expect(csafVersion(update)).toEqual({ version: '3.0.0-draft.1', entry: '3.0.0' });
  });

  it('keeps a CVSS 4.0 vector as a note (CSAF 2.0 has no cvss_v4) and gives no cvss_v3 score', () => {
    const doc = renderCsaf(publishedSnapshot({ cvss: { vector: V4, score: 9.3 } }), config, cweName);
    const v = (doc.vulnerabilities as Record<string, unknown>[])[0] ?? {};
    expect(v.scores).toBeUndefined();
    expect(JSON.stringify(v.notes)).toContain(V4);
  });

  it('an exact version is a product_version, `*` and `<=` are vers ranges', () => {
    const s = publishedSnapshot({
      fields: {
        ...publishedSnapshot().fields,
        affected: [
          { product: 'acme-router', range: range('*') },
          { product: 'acme-router', range: range('1.2.3') },
          { product: 'acme-router', range: range('<=1.9.9') },
        ],
      },
    });
    const tree = JSON.stringify(renderCsaf(s, config, cweName).product_tree);
    expect(tree).toContain('"category":"product_version_range","name":"vers:semver/*"');
    expect(tree).toContain('"category":"product_version","name":"1.2.3"');
    expect(tree).toContain('"cpe":"cpe:2.3:a:psirt-test:acme_router:1.2.3:*:*:*:*:*:*:*"');
    expect(tree).toContain('"purl":"pkg:npm/acme-router@1.2.3"');
    expect(tree).toContain('"name":"vers:semver/<=1.9.9"');
  });
});

describe('renderOsv()', () => {
  it('renders a published revision as the reviewed golden', () => {
    expectGolden('SEC-2026-0042.osv.json', json(renderOsv(publishedSnapshot(), config)));
  });

  it('a 4.0 vector is CVSS_V4; exact versions are versions[]; `*` is introduced 0; `<=` is last_affected', () => {
    const s = publishedSnapshot({
      cvss: { vector: V4, score: 9.3 },
      fields: {
        ...publishedSnapshot().fields,
        affected: [
          { product: 'acme-router', range: range('*') },
          { product: 'acme-router', range: range('=1.2.3') },
          { product: 'acme-cloud', range: range('>=3.0.0,<=3.1.0') },
        ],
      },
    });
    const doc = renderOsv(s, config);
    expect(doc.severity).toEqual([{ type: 'CVSS_V4', score: V4 }]);
    expect(doc.affected).toEqual([
      {
        package: { ecosystem: 'npm', name: 'acme-router', purl: 'pkg:npm/acme-router' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }],
        versions: ['1.2.3'],
        database_specific: { product: 'acme-router', fixed_in: ['2.4.1'] },
      },
      {
        package: { ecosystem: 'npm', name: 'acme-cloud-console' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '3.0.0' }, { last_affected: '3.1.0' }] }],
        database_specific: { product: 'acme-cloud' },
      },
    ]);
  });
});

describe('renderCve()', () => {
  it('renders a published revision as the reviewed golden', () => {
    const doc = renderCve(publishedSnapshot(), config, cweName);
    expectGolden('SEC-2026-0042.cve.json', json(doc));
    expect(doc.dataVersion).toBe(CVE_DATA_VERSION);
  });

  it('a 4.0 vector is cvssV4_0; `*`, exact and `<=` become CVE version entries', () => {
    const s = publishedSnapshot({
      cvss: { vector: V4, score: 9.3 },
      fields: {
        ...publishedSnapshot().fields,
        affected: [
          { product: 'acme-router', range: range('*') },
          { product: 'acme-router', range: range('1.2.3') },
          { product: 'acme-router', range: range('<=1.9.9') },
        ],
      },
    });
    const cna = (renderCve(s, config, cweName).containers as { cna: Record<string, unknown> }).cna;
    expect(JSON.stringify(cna.metrics)).toContain(
      `"cvssV4_0":{"version":"4.0","vectorString":"${V4}","baseScore":9.3,"baseSeverity":"CRITICAL"}`,
    );
    expect((cna.affected as { versions: unknown[] }[])[0]?.versions).toEqual([
      { version: '0', lessThan: '*', status: 'affected', versionType: 'semver' },
      { version: '1.2.3', status: 'affected' },
      { version: '0', lessThanOrEqual: '1.9.9', status: 'affected', versionType: 'semver' },
    ]);
  });
});

describe('missingFor()', () => {
  const empty = draftSnapshot({
    fields: { title: null, summary: null, cwe: null, affected: [], fixed: [], references: [] },
    cve: null,
    cvss: null,
  });

  it('names the commands that set what every format needs', () => {
    for (const format of ['csaf', 'osv', 'markdown'] as const)
      expect(missingFor(format, empty, config)).toEqual([
        '/title "<title>"',
        '/summary (body of a command mail)',
        '/affects <product> <range>',
      ]);
  });

  it('a CVE record also needs the CVE id, the CNA and a reference', () => {
    const noCna = { ...config, advisory: { ...config.advisory, cna_org_id: '' } };
    expect(missingFor('cve', empty, noCna)).toEqual([
      '/title "<title>"',
      '/summary (body of a command mail)',
      '/affects <product> <range>',
      '/cve <CVE-…>',
      'advisory.cna_org_id',
      '/ref <https://…> or /publish <https://…> (a CVE record needs a reference)',
    ]);
  });

  it('OSV needs a package for each affected product', () => {
    const products = config.products.map((p) =>
      p.id === 'acme-cloud' ? { ...p, osv_ecosystem: undefined, osv_package: undefined } : p,
    );
    expect(missingFor('osv', publishedSnapshot(), { ...config, products })).toEqual([
      'products[1] (acme-cloud): purl or osv_ecosystem + osv_package',
    ]);
  });

  it('a complete advisory needs nothing for any format', () => {
    for (const format of ['csaf', 'osv', 'cve', 'markdown'] as const)
      expect(missingFor(format, publishedSnapshot(), config, cweName)).toEqual([]);
  });

  it('CSAF refuses a CWE whose name the validator catalogue does not know', () => {
    const s = publishedSnapshot({ fields: { ...publishedSnapshot().fields, cwe: 'CWE-99999' } });
    expect(missingFor('csaf', s, config, cweName)).toEqual([
      '/cwe: CWE-99999 is not in the CWE catalogue CSAF checks names against (set a listed CWE)',
    ]);
  });
});

describe('the goldens and variants pass the official validators', () => {
  const read = (name: string): unknown =>
    JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'advisory', 'rendered', name), 'utf8'));
  const variants = [
    publishedSnapshot(),
    draftSnapshot(),
    draftSnapshot({ version: 0 }),
    publishedSnapshot({ status: 'draft', version: 1 }),
    publishedSnapshot({ cvss: { vector: V4, score: 9.3 } }),
    publishedSnapshot({
      fields: {
        ...publishedSnapshot().fields,
        affected: [
          { product: 'acme-router', range: range('*') },
          { product: 'acme-router', range: range('1.2.3') },
          { product: 'acme-cloud', range: range('>=3.0.0,<=3.1.0') },
        ],
      },
    }),
  ];

  it('CSAF: schema and every mandatory test', async () => {
    expect(await validateCsaf(read('SEC-2026-0042.csaf.json'))).toEqual([]);
    expect(await validateCsaf(read('SEC-2026-0042.draft-1.csaf.json'))).toEqual([]);
    for (const s of variants) expect(await validateCsaf(renderCsaf(s, config, realCweName))).toEqual([]);
  }, 60_000);

  it('OSV and CVE JSON 5: their vendored schemas', () => {
    expect(validateOsv(read('SEC-2026-0042.osv.json'))).toEqual([]);
    expect(validateCve(read('SEC-2026-0042.cve.json'))).toEqual([]);
    for (const s of variants) {
      const problems = validateOsv(renderOsv(s, config));
      // Known gap (reported to h2-validate): the vendored OSV schema (ossf/osv-schema 015b00a)
      // predates severity type CVSS_V4 (OSV 1.6). Only that one problem is tolerated, only for 4.0.
      if (s.cvss?.vector.startsWith('CVSS:4.0/') === true)
        expect(problems).toEqual([
          { path: '/severity/0/type', message: 'must be equal to one of the allowed values' },
        ]);
      else expect(problems).toEqual([]);
      // A record missingFor refuses is never rendered (a draft without a reference).
      if (missingFor('cve', s, config, realCweName).length === 0)
        expect(validateCve(renderCve(s, config, realCweName))).toEqual([]);
      else expect(validateCve(renderCve(s, config, realCweName))).not.toEqual([]);
    }
  });
});
