import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMAND_HELP, parseCommands } from '../../../src/6-commands/grammar.js';
import { REPO } from '../../support/stack.js';
import { parseCaseIdFormat } from '../../../src/core/case-id.js';

const pattern = parseCaseIdFormat('SEC-{year}-{seq:4}').pattern;
const parse = (s: string) => parseCommands(s, pattern);

describe('parseCommands()', () => {
  it('reads the issue example: /assign bob /cvss <3.1 vector>', () => {
    expect(
      parse(
        'Re: [SEC-2026-0042] Heap overflow /assign bob /cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      ),
    ).toEqual({
      commands: [
        { name: 'assign', staff: 'bob' },
        { name: 'cvss', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
      ],
      rejected: [],
    });
  });

  it('reads /publish with an https address and /credit with a quoted name', () => {
    expect(
      parse('[SEC-2026-0042] /publish https://example.org/advisories/2026-01 /credit "Jane Doe"').commands,
    ).toEqual([
      { name: 'publish', url: 'https://example.org/advisories/2026-01' },
      { name: 'credit', credit: 'Jane Doe' },
    ]);
  });

  it('refuses /publish without an https address', () => {
    expect(parse('/publish http://example.org/a').rejected).toEqual([
      { text: '/publish http://example.org/a', reason: 'expects the https:// address of the advisory' },
    ]);
  });

  it('accepts a CVSS 4.0 vector', () => {
    expect(
      parse('/cvss CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N').commands,
    ).toHaveLength(1);
  });

  it('ignores ordinary text and paths that only look like commands', () => {
    expect(parse('Re: [SEC-2026-0042] crash in /usr/bin/foo and a/b/c')).toEqual({
      commands: [],
      rejected: [],
    });
  });

  it('rejects unknown and malformed commands with the reason, keeping the valid ones', () => {
    expect(
      parse('[SEC-2026-0042] /severity urgent /frobnicate /fix-by 2026-02-30 /close maybe /triage /assign'),
    ).toEqual({
      commands: [{ name: 'triage' }],
      rejected: [
        { text: '/severity urgent', reason: 'expects one of critical, high, medium, low, none' },
        { text: '/frobnicate', reason: 'unknown command (see /help)' },
        { text: '/fix-by 2026-02-30', reason: 'expects a date YYYY-MM-DD' },
        {
          text: '/close maybe',
          reason: 'expects one of fixed, duplicate, invalid, not-applicable, wontfix, withdrawn, spam',
        },
        { text: '/assign', reason: 'missing argument' },
      ],
    });
  });

  it('takes a quoted phrase as one argument and a tagged case id', () => {
    expect(
      parse('/external "Example Crypto Lab" /duplicate [SEC-2026-0007] /cve cve-2026-12345').commands,
    ).toEqual([
      { name: 'external', org: 'Example Crypto Lab' },
      { name: 'duplicate', caseId: 'SEC-2026-0007' },
      { name: 'cve', id: 'CVE-2026-12345' },
    ]);
  });

  it('does not let a command swallow the next command as its argument', () => {
    expect(parse('/tag /reply').rejected).toEqual([{ text: '/tag', reason: 'missing argument' }]);
    expect(parse('/tag /reply').commands).toEqual([{ name: 'reply' }]);
  });
});

describe('the documented grammar', () => {
  it('README lists every command of /help, with the same words', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    for (const [command, what] of COMMAND_HELP) {
      expect(readme).toContain(`| \`${command.replace(/\|/g, '\\|')}\` | ${what} |`);
    }
  });
});

describe('/hold "<reason>" (issue #13: legal hold)', () => {
  it('reads a quoted reason, and a one-word reason unquoted', () => {
    expect(parse('Re: [SEC-2026-0042] x /hold "litigation 2026-14" /tag firmware')).toEqual({
      commands: [
        { name: 'hold', reason: 'litigation 2026-14' },
        { name: 'tag', word: 'firmware' },
      ],
      rejected: [],
    });
    expect(parse('Re: [SEC-2026-0042] /hold subpoena').commands).toEqual([
      { name: 'hold', reason: 'subpoena' },
    ]);
  });

  it('rejects /hold without a reason, showing the form, and still applies the next command', () => {
    for (const subject of ['Re: [SEC-2026-0042] x /hold', 'Re: [SEC-2026-0042] /hold /triage', '/hold ""']) {
      const p = parse(subject);
      expect(p.rejected, subject).toEqual([
        {
          text: expect.stringMatching(/^\/hold/),
          reason: expect.stringContaining('needs a reason: /hold "<reason>"'),
        },
      ]);
      expect(
        p.commands.filter((c) => c.name === 'hold'),
        subject,
      ).toEqual([]);
    }
    expect(parse('Re: [SEC-2026-0042] /hold /triage').commands).toEqual([{ name: 'triage' }]);
  });

  it('rejects a reason longer than 200 characters or with control or bidi characters', () => {
    expect(parse(`/hold "${'x'.repeat(201)}"`).rejected[0]?.reason).toContain('at most 200 characters');
    expect(parse('/hold "court\u202Eorder"').rejected[0]?.reason).toContain('on one line');
    expect(parse(`/hold "${'x'.repeat(200)}"`).commands).toEqual([{ name: 'hold', reason: 'x'.repeat(200) }]);
  });
});
