import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../../src/3-unwrap/unwrap.js';
import { buildPgpMime, decodeDeps, publicKey } from '../../support/mail-fixtures.js';
import { staffMail } from '../../support/pgp-mail.js';

/** Issue #10: protected headers (RFC 9788, protected-headers="v1") on signed-only mail too. */
describe('decodeMessage() and protected headers', () => {
  // gpg signs these at the wall-clock time, so they are checked at it too: against the fixed NOW
  // of the fixtures a signature made after it is "in the future" (it failed after 12:00 on NOW's day).
  const deps = () => decodeDeps({ senderKeys: [publicKey('alice')], now: new Date() });

  it('takes the subject from the signed part of a multipart/signed mail (hp="clear")', async () => {
    const { raw, messageId } = staffMail({
      from: 'alice@psirt.test',
      subject: 'Re: [SEC-2026-0001] Heap overflow /assign bob',
      outerSubject: 'Re: [SEC-2026-0001] Heap overflow /close spam',
      body: 'on it',
      signer: 'alice',
    });
    const d = await decodeMessage(raw, await deps());
    expect(d.signature.state).toBe('valid');
    expect(d.subject).toBe('Re: [SEC-2026-0001] Heap overflow /assign bob');
    expect(d.outerSubject).toBe('Re: [SEC-2026-0001] Heap overflow /close spam');
    expect(d.protectedHeaders).toEqual({
      subject: 'Re: [SEC-2026-0001] Heap overflow /assign bob',
      messageId,
      encrypted: false,
      signed: true,
    });
    expect(d.text).toBe('on it');
  });

  it('keeps the outer subject of a signed mail without protected headers', async () => {
    const { raw } = staffMail({
      from: 'alice@psirt.test',
      subject: 'Re: [SEC-2026-0001] /assign bob',
      body: 'on it',
      signer: 'alice',
      protectedHeaders: false,
    });
    const d = await decodeMessage(raw, await deps());
    expect(d.signature.state).toBe('valid');
    expect(d.subject).toBe('Re: [SEC-2026-0001] /assign bob');
    expect(d.protectedHeaders).toBeNull();
  });

  it('reads RFC 9788 hp="cipher" alone, and marks encrypted but unsigned protected headers as not signed', async () => {
    const raw = await buildPgpMime(
      'Content-Type: text/plain; charset=utf-8; hp="cipher"\nSubject: =?utf-8?q?=C3=9Cberlauf?=\nMessage-ID: <inner@x>\n\nbody\n',
      '[...]',
    );
    const d = await decodeMessage(raw, await decodeDeps());
    expect(d.subject).toBe('Überlauf');
    expect(d.outerSubject).toBe('[...]');
    expect(d.protectedHeaders).toEqual({
      subject: 'Überlauf',
      messageId: 'inner@x',
      encrypted: true,
      signed: false,
    });
  });
});
