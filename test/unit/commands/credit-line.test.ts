import { describe, expect, it } from 'vitest';
import { statedCredit } from '../../../src/6-commands/credit-line.js';

describe('statedCredit (#14)', () => {
  it('reads a Credit: line of its own, trimmed; none means no credit', () => {
    expect(statedCredit('Looks right to me.\n\nCredit:   Jane Doe  \n\nThanks')).toEqual({
      kind: 'credit',
      credit: 'Jane Doe',
    });
    expect(statedCredit('credit: NONE')).toEqual({ kind: 'credit', credit: '' });
    expect(statedCredit('No preference, do as you like.')).toBeNull();
    // Inside a sentence it is no Credit: line.
    expect(statedCredit('Please write "Credit: Jane Doe" in it')).toBeNull();
  });

  it('ignores Credit: lines in the quoted thread and the signature block', () => {
    const quoted = 'Fine by me.\n\nOn Mon, 30 Nov 2026, PSIRT wrote:\n> Credit: Your Name\n> more\n';
    expect(statedCredit(quoted)).toBeNull();
    expect(statedCredit('Fine.\n> Credit: Mallory\n')).toBeNull();
    expect(statedCredit('Fine.\n\n-- \nCredit: Sig Block\n')).toBeNull();
    expect(
      statedCredit('Credit: Jane Doe\n\nOn Mon, 30 Nov 2026, PSIRT wrote:\n> Credit: Your Name\n'),
    ).toEqual({
      kind: 'credit',
      credit: 'Jane Doe',
    });
  });

  it('refuses what cannot be published as written', () => {
    expect(statedCredit('Credit:')).toEqual({ kind: 'invalid', reason: 'empty' });
    expect(statedCredit(`Credit: ${'a'.repeat(201)}`)).toEqual({ kind: 'invalid', reason: 'too-long' });
    expect(statedCredit(`Credit: ${'a'.repeat(200)}`)).toEqual({ kind: 'credit', credit: 'a'.repeat(200) });
    expect(statedCredit('Credit: Jane\u202eeoD')).toEqual({ kind: 'invalid', reason: 'not-printable' });
    expect(statedCredit('Credit: Jane\u0007Doe')).toEqual({ kind: 'invalid', reason: 'not-printable' });
    expect(statedCredit('Credit: Jane Doe\nCredit: John Roe')).toEqual({
      kind: 'invalid',
      reason: 'ambiguous',
    });
    expect(statedCredit('Credit: Jane Doe\ncredit: jane doe')).toEqual({
      kind: 'credit',
      credit: 'Jane Doe',
    });
  });
});
