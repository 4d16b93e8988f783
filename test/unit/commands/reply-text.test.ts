import { describe, expect, it } from 'vitest';
import { ownText } from '../../../src/6-commands/reply-text.js';

describe('ownText()', () => {
  it('drops the quoted report, the attribution line and the signature block', () => {
    const text = [
      'Hi Jane,',
      '',
      'we reproduced it; a fix is planned for March.',
      '',
      'Alice',
      '-- ',
      'Alice Tester, PSIRT',
      '',
      'On Tue, 24 Nov 2026 at 10:00, Jane <jane@example.net> wrote:',
      '> SECRET-REPORT-DETAIL heap overflow in parse()',
      '> more detail',
      '',
    ].join('\r\n');
    const own = ownText(text);
    expect(own).toBe('Hi Jane,\n\nwe reproduced it; a fix is planned for March.\n\nAlice');
    expect(own).not.toContain('SECRET-REPORT-DETAIL');
  });

  it('drops an Outlook-style original message', () => {
    const text = 'Thanks, fixed in 2.4.1.\n\n-----Original Message-----\nFrom: Jane\nSECRET-REPORT-DETAIL\n';
    expect(ownText(text)).toBe('Thanks, fixed in 2.4.1.');
  });

  it('keeps a text with no quote as it is, trimmed', () => {
    expect(ownText('\n  Plain note.\n\n\n\nSecond paragraph.\n')).toBe('Plain note.\n\nSecond paragraph.');
  });

  it('is empty for a mail that only quotes', () => {
    expect(ownText('On Mon, 1 Jan 2026, Jane wrote:\n> only the quote\n')).toBe('');
  });
});
