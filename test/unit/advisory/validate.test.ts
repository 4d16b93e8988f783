import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cweName, validateCsaf, validateCve, validateOsv } from '../../../src/advisory/validate.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'advisory');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the variants edit the documents freely
type Doc = any;
const fixture = (name: string): Doc => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));

/** A string no message may repeat: stands for an unpublished title or summary. */
const SECRET = 'EMBARGOED-SECRET-7f3a';

describe('validateCsaf()', () => {
  // The first call loads the CSAF library, whose mandatory tests take seconds to import (more on a
  // busy machine): load it here, outside the per-test timeout.
  beforeAll(async () => {
    await validateCsaf({});
  }, 120_000);

  it('accepts the minimal CSAF 2.0 security advisory (schema and mandatory tests)', async () => {
    expect(await validateCsaf(fixture('minimal.csaf.json'))).toEqual([]);
  });

  it('reports a document without document.tracking (schema)', async () => {
    const doc = fixture('minimal.csaf.json');
    delete doc.document.tracking;
    const problems = await validateCsaf(doc);
    expect(problems).toContainEqual({
      path: '/document',
      message: "schema: must have required property 'tracking'",
    });
  });

  it('reports a product id referenced but not defined (6.1.1)', async () => {
    const doc = fixture('minimal.csaf.json');
    (doc.vulnerabilities[0].product_status.known_affected as string[]).push('CSAFPID-9999');
    const problems = await validateCsaf(doc);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe('/vulnerabilities/0/product_status/known_affected/1');
    expect(problems[0]!.message).toMatch(/^6\.1\.1: /);
  });

  it('reports a CWE name that does not match its id (6.1.11)', async () => {
    const doc = fixture('minimal.csaf.json');
    doc.vulnerabilities[0].cwe.name = 'Buffer Overflow';
    expect(await validateCsaf(doc)).toEqual([
      {
        path: '/vulnerabilities/0/cwe/name',
        message: '6.1.11: the name does not match the weakness with the given id',
      },
    ]);
  });

  it('never repeats a value of the document in a message', async () => {
    const doc = fixture('minimal.csaf.json');
    doc.document.title = SECRET;
    // 6.1.13's own message quotes the purl; 6.1.6's the product id.
    doc.product_tree.branches[0].branches[0].branches[1].product.product_identification_helper = {
      purl: `pkg:${SECRET}`,
    };
    (doc.vulnerabilities[0].product_status.fixed as string[]).push('CSAFPID-0001');
    doc.document.tracking.status = SECRET;
    const problems = await validateCsaf(doc);
    expect(problems.map((p) => p.message.split(':')[0])).toEqual(
      expect.arrayContaining(['schema', '6.1.6', '6.1.13']),
    );
    expect(JSON.stringify(problems)).not.toContain(SECRET);
    expect(JSON.stringify(problems)).not.toContain('CSAFPID-0001');
  });

  it('reports a document that is not an object without throwing', async () => {
    const problems = await validateCsaf('not a document');
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]!.message).toMatch(/^schema: /);
  });
});

describe('cweName()', () => {
  it('gives the name test 6.1.11 expects for a known id, null for an unknown one', async () => {
    expect(cweName('CWE-787')).toBe('Out-of-bounds Write');
    expect(cweName('CWE-79')).toBe(
      "Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')",
    );
    expect(cweName('CWE-0')).toBeNull();
    // What the renderer does with it passes 6.1.11.
    const doc = fixture('minimal.csaf.json');
    doc.vulnerabilities[0].cwe = { id: 'CWE-79', name: cweName('CWE-79') };
    expect(await validateCsaf(doc)).toEqual([]);
  });
});

describe('validateOsv()', () => {
  it('accepts the minimal OSV record', () => {
    expect(validateOsv(fixture('minimal.osv.json'))).toEqual([]);
  });

  it('reports a record without id and modified', () => {
    const doc = fixture('minimal.osv.json');
    delete doc.id;
    delete doc.modified;
    expect(validateOsv(doc)).toEqual([
      { path: '', message: "must have required property 'id'" },
      { path: '', message: "must have required property 'modified'" },
    ]);
  });

  it('reports a range without an introduced event and a date that is not a date-time', () => {
    const doc = fixture('minimal.osv.json');
    doc.affected[0].ranges[0].events = [{ fixed: '2.4.1' }];
    doc.published = SECRET;
    const problems = validateOsv(doc);
    expect(problems).toContainEqual({
      path: '/affected/0/ranges/0/events',
      message: 'must contain at least 1 valid item(s)',
    });
    expect(problems).toContainEqual({ path: '/published', message: 'must match format "date-time"' });
    expect(JSON.stringify(problems)).not.toContain(SECRET);
  });
});

describe('validateCve()', () => {
  it('accepts the minimal CVE JSON 5 PUBLISHED record', () => {
    expect(validateCve(fixture('minimal.cve.json'))).toEqual([]);
  });

  it('accepts CVSS 3.1 and 4.0 metrics (the imported schemas resolve)', () => {
    const doc = fixture('minimal.cve.json');
    doc.containers.cna.metrics = [
      {
        cvssV3_1: {
          version: '3.1',
          vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
          baseScore: 9.8,
          baseSeverity: 'CRITICAL',
        },
      },
      {
        cvssV4_0: {
          version: '4.0',
          vectorString: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N',
          baseScore: 9.3,
          baseSeverity: 'CRITICAL',
        },
      },
    ];
    expect(validateCve(doc)).toEqual([]);
  });

  it('reports a CVSS 3.1 metric whose vector and severity do not fit the imported schema', () => {
    const doc = fixture('minimal.cve.json');
    doc.containers.cna.metrics = [
      { cvssV3_1: { version: '3.1', vectorString: 'CVSS:3.1/AV:X', baseScore: 9.8, baseSeverity: 'LOW' } },
    ];
    const paths = validateCve(doc).map((p) => p.path);
    expect(paths).toContain('/containers/cna/metrics/0/cvssV3_1/vectorString');
    expect(paths).toContain('/containers/cna/metrics/0/cvssV3_1/baseSeverity');
  });

  it('reports a container without providerMetadata.orgId and an unknown reference tag', () => {
    const doc = fixture('minimal.cve.json');
    delete doc.containers.cna.providerMetadata.orgId;
    doc.containers.cna.references[0].tags = ['not-a-tag'];
    doc.containers.cna.bogus = 1;
    const problems = validateCve(doc);
    expect(problems).toContainEqual({
      path: '/containers/cna',
      message: 'must NOT have additional properties (bogus)',
    });
    expect(problems).toContainEqual({
      path: '/containers/cna/providerMetadata',
      message: "must have required property 'orgId'",
    });
    expect(problems.map((p) => p.path)).toContain('/containers/cna/references/0/tags/0');
  });

  it('reports a record without an English description and a malformed CVE id, without their values', () => {
    const doc = fixture('minimal.cve.json');
    doc.containers.cna.descriptions = [{ lang: 'de', value: SECRET }];
    doc.cveMetadata.cveId = SECRET;
    const problems = validateCve(doc);
    expect(problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['/containers/cna/descriptions', '/cveMetadata/cveId']),
    );
    expect(JSON.stringify(problems)).not.toContain(SECRET);
  });

  it('reports a record that is not a CVE record at all', () => {
    expect(validateCve({ dataType: 'CVE_RECORD' })).toContainEqual({
      path: '',
      message: "must have required property 'cveMetadata'",
    });
  });
});
