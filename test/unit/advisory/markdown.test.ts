import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { advisoryView } from '../../../src/advisory/markdown.js';
import { loadTemplates } from '../../../src/8-outbox/templates.js';
import { REPO } from '../../support/stack.js';
import { config, draftSnapshot, expectGolden, publishedSnapshot, range } from './fixture.js';

const templates = loadTemplates(join(REPO, 'config', 'templates'));
const md = (s: ReturnType<typeof publishedSnapshot>): string =>
  templates.render('advisory', advisoryView(s, config)).replace(/\r\n/g, '\n');

describe('advisoryView() and the advisory template', () => {
  it('renders a published revision as the reviewed golden Markdown', () => {
    expectGolden('SEC-2026-0042.md', md(publishedSnapshot()));
  });

  it('renders a first draft as the reviewed golden Markdown, marked confidential', () => {
    const text = md(draftSnapshot());
    expectGolden('SEC-2026-0042.draft-1.md', text);
    expect(text).toContain('**Draft 1, not published.**');
    expect(text).not.toContain('Revision history');
  });

  it('names products by their configured name and says each range in words', () => {
    const view = advisoryView(
      publishedSnapshot({
        fields: {
          ...publishedSnapshot().fields,
          affected: [
            { product: 'acme-router', range: range('*') },
            { product: 'acme-router', range: range('=1.2.3') },
            { product: 'acme-cloud', range: range('<=3.1.0') },
            { product: 'gone', range: range('<1.0') },
          ],
        },
      }),
      config,
    );
    expect(view.affected).toEqual([
      {
        product: 'acme-router',
        name: 'ACME Router',
        vendor: 'PSIRT Test Org',
        range: '*',
        description: 'all versions',
      },
      {
        product: 'acme-router',
        name: 'ACME Router',
        vendor: 'PSIRT Test Org',
        range: '=1.2.3',
        description: 'version 1.2.3',
      },
      {
        product: 'acme-cloud',
        name: 'ACME Cloud Console',
        vendor: 'PSIRT Test Org',
        range: '<=3.1.0',
        description: 'all versions up to and including 3.1.0',
      },
      { product: 'gone', name: 'gone', vendor: null, range: '<1.0', description: 'all versions before 1.0' },
    ]);
  });

  it('renders an advisory with nothing set yet without failing (strict template: every key present)', () => {
    const text = md(
      draftSnapshot({
        fields: { title: null, summary: null, cwe: null, affected: [], fixed: [], references: [] },
        cve: null,
        severity: null,
        cvss: null,
        credit: null,
        discloseOn: null,
      }),
    );
    expect(text).toContain('# Security advisory SEC-2026-0042');
    expect(text).toContain('(no summary yet)');
    expect(text).not.toContain('## Credit');
  });

  it('shows a CVSS 4.0 vector with its version', () => {
    const text = md(
      publishedSnapshot({
        cvss: { vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', score: 9.3 },
      }),
    );
    expect(text).toContain(
      '| CVSS 4.0 | `CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N` |',
    );
  });
});
