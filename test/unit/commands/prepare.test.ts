import { describe, expect, it } from 'vitest';
import { prepareStaffMail } from '../../../src/6-commands/prepare.js';
import { loadConfig } from '../../../src/config/load.js';
import type { DecodedMessage } from '../../../src/2-decode/types.js';
import { buildSignedStaffMail } from '../../support/builders.js';

const config = loadConfig({ env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'x' } });
const alice = config.staff.find((s) => s.address === 'alice@psirt.test')!;
const NOW = new Date('2026-11-24T12:00:00Z');
const PATTERN = 'SEC-\\d{4}-\\d{4,}';

/** A PGP/MIME mail signed by alice whose signed part carries `inner` as protected Subject. */
const signedMail = (inner: string, outer: string, over: Partial<DecodedMessage> = {}) =>
  buildSignedStaffMail(alice, inner, { outerSubject: outer, ...over });
const prepare = (d: DecodedMessage) =>
  prepareStaffMail(d, alice, null, { config, now: NOW, caseIdPattern: PATTERN });

describe('prepareStaffMail(): commands only from what the signature covers (issue #10)', () => {
  it('takes the commands from the signed protected subject', () => {
    const p = prepare(signedMail('Re: [SEC-2026-0001] x /assign bob', 'Re: [SEC-2026-0001] ...'));
    expect(p.auth.ok).toBe(true);
    expect(p.tampered).toBeNull();
    expect(p.parsed.commands).toEqual([{ name: 'assign', staff: 'bob' }]);
  });

  it('accepts an outer subject that repeats the same commands', () => {
    const s = 'Re: [SEC-2026-0001] x /assign bob';
    expect(prepare(signedMail(s, s)).tampered).toBeNull();
  });

  it.each([
    ['other commands', 'Re: [SEC-2026-0001] x /close spam'],
    ['a /reply added', 'Re: [SEC-2026-0001] x /assign bob /reply'],
    ['commands where the signer wrote none', 'Re: [SEC-2026-0001] x /assign bob'],
  ])('refuses an outer subject with %s as tampered, naming no subject words', (_n, outer) => {
    const inner =
      _n === 'commands where the signer wrote none'
        ? 'Re: [SEC-2026-0001] x'
        : 'Re: [SEC-2026-0001] x /assign bob';
    const p = prepare(signedMail(inner, outer));
    expect(p.tampered).toMatch(/outer Subject differ from those in the signed/);
    expect(p.tampered).not.toContain('SEC-2026-0001');
  });

  it('refuses a Message-ID other than the signed one', () => {
    const s = 'Re: [SEC-2026-0001] x /assign bob';
    expect(prepare(signedMail(s, s, { messageId: 'fresh@relay.test' })).tampered).toMatch(
      /Message-ID differs/,
    );
  });

  it('says whether the signed subject names a case (the unsigned threading headers may not choose it)', () => {
    expect(prepare(signedMail('Re: looks bogus /close spam', 'Re: [SEC-2026-0009] ...')).namesCase).toBe(
      false,
    );
    expect(prepare(signedMail('Re: [SEC-2026-0001] /close spam', 'Re: [SEC-2026-0001] ...')).namesCase).toBe(
      true,
    );
  });

  it('does not authenticate a PGP signature that does not cover the subject (no protected headers)', () => {
    const s = 'Re: [SEC-2026-0001] x /assign bob';
    const p = prepare(signedMail(s, s, { protectedHeaders: null }));
    expect(p.auth.ok).toBe(false);
    if (!p.auth.ok) expect(p.auth.reason).toMatch(/does not cover the Subject/);
  });
});
