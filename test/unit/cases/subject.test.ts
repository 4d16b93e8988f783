import { describe, expect, it } from 'vitest';
import { baseSubject, replySubject, sanitizeSubject } from '../../../src/7-cases/subject.js';
import { parseCommands } from '../../../src/6-commands/grammar.js';
import { parseCaseIdFormat } from '../../../src/core/case-id.js';

const pattern = parseCaseIdFormat('SEC-{year}-{seq:4}').pattern;

describe('sanitizeSubject()', () => {
  it('turns CR, LF and NUL into spaces so no header can be injected', () => {
    expect(sanitizeSubject('Bug\r\nBcc: victim@example.org\u0000x')).toBe('Bug Bcc: victim@example.org x');
  });

  it('removes bidi controls that could visually reorder the subject', () => {
    expect(sanitizeSubject('invoice\u202Efdp.exe\u2066x\u2069')).toBe('invoicefdp.exex');
  });

  it('makes slash commands inert, so a reply to our mail does not repeat them', () => {
    const s = sanitizeSubject('Upload bypass /reply /close invalid in /usr/bin/x and a/b');
    expect(s).toBe('Upload bypass \u2215reply \u2215close invalid in /usr/bin/x and a/b');
    expect(parseCommands(`Re: [SEC-2026-0001] ${s}`, pattern)).toEqual({ commands: [], rejected: [] });
  });

  it('caps a 10,000-character subject at 200 characters with an ellipsis', () => {
    const s = sanitizeSubject('A'.repeat(10_000));
    expect(Array.from(s)).toHaveLength(200);
    expect(s.endsWith('…')).toBe(true);
  });

  it('never cuts an emoji in half', () => {
    const s = sanitizeSubject('👩‍💻'.repeat(300), 10);
    expect(s).toBe(`${'👩‍💻'.repeat(9)}…`);
  });
});

describe('replySubject()', () => {
  it('builds Re: [case] original', () => {
    expect(replySubject('SEC-2026-0001', 'XSS in login', pattern)).toBe('Re: [SEC-2026-0001] XSS in login');
  });

  it('does not stack prefixes or tags from earlier rounds', () => {
    expect(baseSubject('Re: AW: Fwd: [SEC-2026-0001] XSS', pattern)).toBe('XSS');
    expect(replySubject('SEC-2026-0002', 'Re: [SEC-2026-0001] XSS', pattern)).toBe('Re: [SEC-2026-0002] XSS');
  });

  it('says (no subject) for an empty one', () => {
    expect(replySubject('SEC-2026-0001', '', pattern)).toBe('Re: [SEC-2026-0001] (no subject)');
  });
});
