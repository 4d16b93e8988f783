import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parseRange, type AdvisorySnapshot, type VersionRange } from '../../../src/advisory/model.js';
import { loadConfig } from '../../../src/config/load.js';
import { REPO } from '../../support/stack.js';

/** The test profile's products (config/test.toml): acme-router (purl, cpe), acme-cloud (OSV ecosystem). */
export const config = loadConfig({ env: { PSIRT_IMAP__PASSWORD: 'x', PSIRT_ENV: 'test' } });

export function range(text: string): VersionRange {
  const r = parseRange(text);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

/** A published advisory (revision 2), fixed in time: every format's golden is rendered from it. */
export function publishedSnapshot(over: Partial<AdvisorySnapshot> = {}): AdvisorySnapshot {
  return {
    caseId: 'SEC-2026-0042',
    status: 'final',
    version: 2,
    fields: {
      title: 'Stack buffer overflow in the ACME Router web interface',
      summary:
        'A crafted HTTP request to the administration interface overflows a stack buffer.\n\nAn attacker on the network can run code as root. Update to 2.4.1.',
      cwe: 'CWE-787',
      affected: [
        { product: 'acme-router', range: range('>=2.0.0,<2.4.1') },
        { product: 'acme-cloud', range: range('<=3.1.0') },
      ],
      fixed: [{ product: 'acme-router', version: '2.4.1' }],
      references: ['https://psirt.test/advisories/SEC-2026-0042/patch', 'https://example.org/blog/acme'],
    },
    cve: 'CVE-2026-12345',
    severity: 'critical',
    cvss: { vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 9.8 },
    credit: 'Jane Researcher',
    reportedAt: '2026-10-01T08:30:00.000Z',
    publishedAt: '2026-11-20T09:00:00.000Z',
    discloseOn: '2026-11-20',
    advisoryUrl: 'https://psirt.test/advisories/SEC-2026-0042',
    revisions: [
      { number: 1, date: '2026-11-20T09:00:00.000Z', summary: 'Initial publication' },
      { number: 2, date: '2026-11-25T10:00:00.000Z', summary: 'acme-cloud is affected too' },
    ],
    frozenAt: '2026-11-25T10:00:00.000Z',
    ...over,
  };
}

/** A first draft, before publication (no revisions). */
export function draftSnapshot(over: Partial<AdvisorySnapshot> = {}): AdvisorySnapshot {
  const p = publishedSnapshot();
  return {
    ...p,
    status: 'draft',
    version: 1,
    fields: { ...p.fields, affected: [p.fields.affected[0]!], references: [] },
    publishedAt: null,
    advisoryUrl: null,
    revisions: [],
    frozenAt: '2026-11-10T14:00:00.000Z',
    ...over,
  };
}

const GOLDEN = join(REPO, 'test', 'fixtures', 'advisory', 'rendered');

/** Compares with the reviewed golden file (rewrite them with UPDATE_GOLDEN=1). */
export function expectGolden(name: string, text: string): void {
  const file = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, text);
  expect(text).toBe(readFileSync(file, 'utf8'));
}
