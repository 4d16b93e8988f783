import { describe, expect, it } from 'vitest';
import { parseAuthenticationResults } from '../../../src/5-authenticate/auth-results.js';
import { baseSubject, sanitizeSubject } from '../../../src/7-cases/subject.js';
import { parseCommands } from '../../../src/6-commands/grammar.js';
import { findArmorBlocks } from '../../../src/3-unwrap/armor-blocks.js';
import { readAutocryptKey } from '../../../src/3-unwrap/autocrypt.js';
import { cleanSubject, idsIn } from '../../../src/2-decode/envelope.js';
import { readKeyBlock } from '../../../src/pgp/read-keys.js';
import { publicKey } from '../../support/mail-fixtures.js';

// #10 item 4 and DESIGN.md invariant 8: parsing is linear in the input size. Each case is an
// input of 100 KB or more shaped to make a backtracking pattern (or another super-linear step)
// rescan it; before the fix the ones marked "used to" ran far past the test timeout.
const KB = 1024;
const ID_PATTERN = 'SEC-\\d{4}-\\d{4,}';
const fill = (unit: string, bytes: number) => unit.repeat(Math.ceil(bytes / unit.length));

describe('armored blocks in a 1 MB body of BEGIN lines without an END', () => {
  it('are none, found in one pass (it used to rescan the rest of the text per BEGIN line)', () => {
    expect(findArmorBlocks(fill('-----BEGIN PGP MESSAGE-----\n', 1024 * KB))).toEqual([]);
  });

  it('still end at the first END line after them', () => {
    const text = `${fill('x\n', 200 * KB)}-----BEGIN PGP MESSAGE-----\nAAAA\n-----END PGP MESSAGE-----\n`;
    expect(findArmorBlocks(text).map((b) => b.armored)).toEqual([
      '-----BEGIN PGP MESSAGE-----\nAAAA\n-----END PGP MESSAGE-----',
    ]);
  });
});

describe('a key attachment of 1 MB of BEGIN lines without an END', () => {
  it('is unreadable, found in one pass (it used to rescan the rest of the text per BEGIN line)', async () => {
    const block = await readKeyBlock(fill('-----BEGIN PGP PUBLIC KEY BLOCK-----', 1024 * KB - 64));
    expect(block).toEqual({ kind: 'unreadable', reason: 'no armored key block found' });
  });

  it('does not hide a real key that follows them', async () => {
    const block = await readKeyBlock(
      `${fill('-----BEGIN PGP PUBLIC KEY BLOCK-----', 200 * KB)}\n${publicKey('alice')}`,
    );
    expect(block.kind).toBe('public');
  });
});

describe('subjects of 200 KB', () => {
  it('are capped to 200 characters (segmenting all of it used to take 136 s)', () => {
    const s = sanitizeSubject(fill('a /b ', 200 * KB));
    expect(s).toHaveLength(200);
    expect(s.endsWith('…')).toBe(true);
  });

  it('keep a long emoji sequence whole at the cap', () => {
    const family = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}';
    const s = sanitizeSubject(fill(family, 200 * KB));
    expect(s.endsWith(`${family}…`)).toBe(true);
  });

  it.each([
    ['reply prefixes', 'Re: '],
    ['unclosed case tags', '[SEC-2026-'],
  ])('lose their %s in linear time', (_, unit) => {
    expect(baseSubject(`${fill(unit, 100 * KB)}x`, ID_PATTERN).length).toBeLessThanOrEqual(200);
  });

  it('of slash words and unclosed quotes yield commands without backtracking', () => {
    const parsed = parseCommands(`[SEC-2026-0001] ${fill('/assign "x ', 200 * KB)}`, ID_PATTERN);
    expect(parsed.commands.length).toBeGreaterThan(0);
  });

  it('lose their control characters', () => {
    expect(cleanSubject(fill('a\u0001', 200 * KB))).toBe('a'.repeat(100 * KB));
  });
});

describe('header values of 200 KB', () => {
  it.each([
    ['words', 'a '],
    ['quotes', '"a'],
    ['open comments', '('],
  ])('of %s in Authentication-Results are tokenised in one pass', (_, unit) => {
    expect(() => parseAuthenticationResults(`mx.test; ${fill(unit, 200 * KB)}`)).not.toThrow();
  });

  it('of unclosed brackets hold no Message-ID', () => {
    expect(idsIn(fill('<a', 200 * KB))).toEqual([]);
  });

  it('of an Autocrypt header with blanks in its keydata are read', () => {
    expect(readAutocryptKey(`addr=a@b.test; keydata=${fill('AAAA ', 200 * KB)}`, 'a@b.test').kind).toBe(
      'key',
    );
  });
});
