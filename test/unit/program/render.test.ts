import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { configDigest } from '../../../src/config/digest.js';
import { GOVERNED_COMMANDS, type Config } from '../../../src/config/schema.js';
import { COMMAND_HELP } from '../../../src/6-commands/grammar.js';
import { rolesFor } from '../../../src/6-commands/raci.js';
import { COMMAND_SYNTAX, rolesAllowed } from '../../../src/program/facts.js';
import { md } from '../../../src/program/markdown.js';
import { renderProgram } from '../../../src/program/render.js';
import type { ProgramDocument, ProgramInput } from '../../../src/program/types.js';
import { loadExampleConfig } from '../../support/example-config.js';
import { NOW, teamKey } from '../../support/mail-fixtures.js';
import { REPO } from '../../support/stack.js';

/**
 * renderProgram (#12): the ISO/IEC 18974 documents from config/example.toml, pinned by golden
 * copies (reviewed; rewrite them with UPDATE_GOLDEN=1), and each changing with the config it
 * states.
 */

const GOLDEN = join(REPO, 'test', 'fixtures', 'program');
/** The files this module writes itself (security.txt and SECURITY.md are public-channel's). */
const OWN_FILES = ['procedure.md', 'roles.md', 'staffing.md', 'expertise.md', 'raci.md', 'book.html'];

let key: ProgramInput['teamKey'];
beforeAll(async () => {
  const k = await teamKey();
  key = { fingerprint: k.fingerprint, expires: k.expires };
});

function render(env: Record<string, string> = {}): {
  docs: ProgramDocument[];
  digest: string;
  config: Config;
} {
  const { config } = loadExampleConfig(env);
  const digest = configDigest(config);
  return {
    docs: renderProgram({ config, teamKey: key, configDigest: digest, generatedAt: NOW }),
    digest,
    config,
  };
}

function file(docs: readonly ProgramDocument[], name: string): string {
  const doc = docs.find((d) => d.file === name);
  if (doc === undefined) throw new Error(`${name} was not rendered`);
  return doc.content;
}

/** Lines of `b` that are not in `a`. */
const changedLines = (a: string, b: string): string[] => {
  const before = new Set(a.split('\n'));
  return b.split('\n').filter((l) => !before.has(l));
};

describe('renderProgram() with config/example.toml', () => {
  it.each(OWN_FILES)('renders %s as its reviewed golden copy', (name) => {
    const { docs, digest } = render();
    // The derived example lives in a temporary folder (its secret paths), so the digest varies.
    const stable = file(docs, name).replaceAll(digest, '<config-digest>');
    const golden = join(GOLDEN, name);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, stable);
    expect(stable).toBe(readFileSync(golden, 'utf8'));
  });

  it('without public_channel.expires: refuses by default, and "when-valid" renders the rest and says why', () => {
    const { config } = loadExampleConfig();
    delete config.public_channel.expires;
    const input = { config, teamKey: key, configDigest: configDigest(config), generatedAt: NOW };
    expect(() => renderProgram(input)).toThrow(/public_channel\.expires/);
    const docs = renderProgram(input, { securityTxt: 'when-valid' });
    expect(docs.map((d) => d.file)).toEqual([
      'SECURITY.md',
      'procedure.md',
      'roles.md',
      'staffing.md',
      'expertise.md',
      'raci.md',
      'book.html',
    ]);
    expect(file(docs, 'book.html')).toMatch(/renders no security\.txt: public_channel\.expires is not set/);
  });

  it('renders the eight files, the two public-channel ones for §4.2.1.1', () => {
    const { docs } = render();
    expect(docs.map((d) => d.file)).toEqual([
      'security.txt',
      'SECURITY.md',
      'procedure.md',
      'roles.md',
      'staffing.md',
      'expertise.md',
      'raci.md',
      'book.html',
    ]);
    expect(docs.filter((d) => d.clauses.includes('4.2.1.1')).map((d) => d.file)).toEqual([
      'security.txt',
      'SECURITY.md',
      'book.html',
    ]);
  });

  it('begins every Markdown file with the configuration digest, the date and its clause', () => {
    const { docs, digest } = render();
    for (const d of docs.filter((x) => x.file.endsWith('.md') && x.file !== 'SECURITY.md')) {
      const first = d.content.split('\n')[0];
      expect(first).toBe(
        `Configuration digest \`sha256:${digest}\` · generated 2026-12-01T12:00:00.000Z · ISO/IEC 18974 §${d.clauses[0] ?? ''}`,
      );
    }
    expect(file(docs, 'book.html')).toContain(`sha256:${digest} · generated 2026-12-01T12:00:00.000Z`);
  });

  it('puts SECURITY.md and security.txt into the book', () => {
    const { docs } = render();
    const book = file(docs, 'book.html');
    const txt = file(docs, 'security.txt');
    for (const line of txt.split('\n').filter((l) => l !== '')) expect(book).toContain(line);
    expect(book).toContain('<section id="clause-4-2-1-1">');
  });
});

describe('procedure.md follows the deadline policy', () => {
  it('changes the verify lines, and only those, when deadlines.verify goes from 7 to 5 business days', () => {
    const seven = file(render().docs, 'procedure.md');
    const five = file(render({ PSIRT_DEADLINES__VERIFY__AMOUNT: '5' }).docs, 'procedure.md');
    expect(seven).toContain('given a severity within **7 business days** of receipt');
    expect(five).toContain('given a severity within **5 business days** of receipt');
    expect(five).not.toContain('7 business days');
    // NOW is Tue 1 Dec 2026 13:00 in Berlin: 5 business days later is Tue 8 Dec.
    expect(five).toContain('| verify | 5 business days | Tue 8 Dec 2026 13:00 (Europe/Berlin) |');
    const changed = changedLines(seven, five);
    expect(changed.length).toBeGreaterThanOrEqual(3);
    for (const line of changed.slice(1)) expect(line).toMatch(/verif/);
    expect(changed[0]).toMatch(/^Configuration digest/);
  });

  it('counts the disclose deadline from the fix when no date was agreed', () => {
    const p = file(render({ PSIRT_DEADLINES__DISCLOSE__AMOUNT: '45' }).docs, 'procedure.md');
    expect(p).toContain('**45 calendar days after the fix** (`/fixed`)');
  });

  it('states how command mail is authenticated, and who can send commands, from [commands] (#12 trial)', () => {
    const pgpOnly = file(render().docs, 'procedure.md');
    expect(pgpOnly).toContain('authenticated by a valid OpenPGP signature');
    expect(pgpOnly).not.toContain('DKIM');
    expect(pgpOnly).toContain('these staff can send commands: Alice Example, Bob Builder, Carol Chief.');
    const dkim = file(render({ PSIRT_COMMANDS__DKIM_VERIFY: 'true' }).docs, 'procedure.md');
    expect(dkim).toContain('a DKIM signature of the sender domain, verified by the service');
    const noKey = render();
    delete noKey.config.staff[1]!.key_file;
    const docs = renderProgram({ config: noKey.config, teamKey: key, configDigest: 'x', generatedAt: NOW });
    expect(file(docs, 'procedure.md')).toContain('Not (no fingerprint and key_file): Bob Builder.');
  });

  it('says which severities call for outside expertise by the fix policy alone', () => {
    const p = file(render().docs, 'procedure.md');
    expect(p).toContain('every case of severity medium or low without an earlier `/fix-by` date');
    const wide = file(
      render({ PSIRT_ESCALATION__OUTSIDE_EXPERTISE__MAX_FIX_DAYS: '90' }).docs,
      'procedure.md',
    );
    expect(wide).not.toContain('every case of severity');
  });

  it('keeps the book title and heading on one line whatever breaks the organisation name (#12 re-check)', () => {
    const { config } = loadExampleConfig();
    config.organisation.name = 'Example\u2028Corp\u2029 PSIRT';
    const book = file(
      renderProgram({ config, teamKey: key, configDigest: 'x', generatedAt: NOW }),
      'book.html',
    );
    expect(book).toContain('<title>Example Corp PSIRT: ISO/IEC 18974 program documents</title>');
    expect(book).toContain('<h1>Example Corp PSIRT: ISO/IEC 18974 program documents</h1>');
    expect(book).not.toMatch(/[\u2028\u2029]/);
  });

  it('states the escalation ladder as configured', () => {
    const before = file(render().docs, 'procedure.md');
    const after = file(render({ PSIRT_ESCALATION__LADDER__0__BEFORE__AMOUNT: '2' }).docs, 'procedure.md');
    expect(before).toContain('1. 1 business day before the deadline: the assignee');
    expect(after).toContain('1. 2 business days before the deadline: the assignee');
  });

  it('names every staff command with the syntax of the grammar', () => {
    const p = file(render().docs, 'procedure.md');
    for (const c of [...GOVERNED_COMMANDS, 'help', 'note'] as const)
      expect(p).toContain(`\`${COMMAND_SYNTAX[c]}\``);
  });
});

describe('the other documents follow their config sections', () => {
  it('raci.md changes with the matrix (decided_by of /publish)', () => {
    const before = file(render().docs, 'raci.md');
    const after = file(render({ PSIRT_RACI__5__DECIDED_BY: 'responsible' }).docs, 'raci.md');
    const row =
      '| Advisory publication and customer notification | `/publish <https-url>`, `/revise "<what changed>"`, ' +
      '`/credit-override <"name"\\|none> "<reason>"`, `/notify` |';
    expect(before).toContain(`${row} manager only (decided by the accountable role) |`);
    expect(after).toContain(`${row} communications, security or manager |`);
  });

  it('roles.md, staffing.md and expertise.md change with [[staff]]', () => {
    const before = render().docs;
    const after = render({ PSIRT_STAFF__0__NAME: 'Alice Renamed' }).docs;
    for (const name of ['roles.md', 'staffing.md', 'expertise.md']) {
      expect(file(before, name)).toContain('Alice Example (alice@example.com)');
      expect(file(after, name)).toContain('Alice Renamed (alice@example.com)');
      expect(file(after, name)).not.toContain('Alice Example');
    }
  });

  it('staffing.md says when the review date has passed', () => {
    const s = file(render({ PSIRT_STAFFING__REVIEW_BY: '2026-11-30' }).docs, 'staffing.md');
    expect(s).toContain('next reviewed by 2026-11-30 — **this date has passed**.');
  });
});

describe('escaping config values', () => {
  const HOSTILE = '<img src=x onerror=alert(1)> | *b* _i_ `c` [x](javascript:alert(1)) & ~~s~~';

  it('keeps HTML, emphasis, links and cell boundaries out of every document and the book', () => {
    const { docs } = render({
      PSIRT_STAFF__0__NAME: HOSTILE,
      PSIRT_STAFF__0__EXPERTISE: `["${HOSTILE.replace(/"/g, '\\"')}"]`,
      PSIRT_STAFFING__BUDGET__0__ITEM: HOSTILE,
      PSIRT_ESCALATION__OUTSIDE_EXPERTISE__EXPERTS__0__NAME: HOSTILE,
      PSIRT_RACI__0__ACTIVITY: HOSTILE,
    });
    for (const name of OWN_FILES) {
      const text = file(docs, name);
      expect(text, name).not.toContain('<img');
      expect(text, name).not.toContain('href="javascript');
      expect(text, name).toContain('&lt;img');
    }
    // A table row holding the value still has its columns: every | in it is escaped.
    const row = file(docs, 'roles.md')
      .split('\n')
      .find((l) => l.startsWith('| security |'));
    expect(row?.split(/(?<!\\)\|/).length).toBe(5);
    const book = file(docs, 'book.html');
    for (const made of ['<em>b</em>', '<em>i</em>', '<code>c</code>', '<del>s</del>'])
      expect(book).not.toContain(made);
    expect(book).toContain(
      '&lt;img src=x onerror=alert(1)&gt; | *b* _i_ `c` [x](javascript:alert(1)) &amp; ~~s~~',
    );
  });

  it('md() writes each special character as a literal', () => {
    expect(md('a<b&c|d*e_f`g[h]i~j\\k\nl')).toBe('a&lt;b&amp;c\\|d\\*e\\_f\\`g\\[h\\]i\\~j\\\\k l');
  });
});

describe('facts restated from src/6-commands', () => {
  it('has the syntax of every command as /help writes it', () => {
    expect(Object.values(COMMAND_SYNTAX).sort()).toEqual(COMMAND_HELP.map(([syntax]) => syntax).sort());
  });

  it('gives each activity the roles the RACI gate allows', () => {
    const { config } = render();
    for (const a of config.raci) expect(rolesAllowed(a)).toEqual(rolesFor(a));
  });
});
