import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../../src/3-unwrap/unwrap.js';
import { DAMAGED_SIGNATURE } from '../../../src/pgp/verify-signature.js';
import { decodeDeps, FINGERPRINTS, publicKey, readMail, SIGNED_AT } from '../../support/mail-fixtures.js';

const decode = async (name: string, overrides = {}) =>
  decodeMessage(readMail(name), await decodeDeps(overrides));

/** Rewrites a fixture's text (latin1, so bytes map 1:1) for a negative case. */
function edited(name: string, edit: (text: string) => string): Buffer {
  return Buffer.from(edit(readMail(name).toString('latin1')), 'latin1');
}

describe('decodeMessage() on multipart/signed (RFC 3156 §5)', () => {
  it('verifies the exact bytes of the signed part against a key in senderKeys', async () => {
    const d = await decode('report-signed-pgp-mime.eml', { senderKeys: [publicKey('reporter1')] });
    expect(d.signature).toEqual({
      state: 'valid',
      fingerprint: FINGERPRINTS.reporter1,
      keyId: 'BA2553C53E641671',
      createdAt: SIGNED_AT,
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      format: 'pgp-mime',
    });
  });

  it('gives the signed text and drops the signature part from the attachments', async () => {
    const d = await decode('report-signed-pgp-mime.eml');
    expect(d.text).toBe(
      'The export endpoint leaks other tenants’ invoices.\nProof: GET /api/export?tenant=2',
    );
    expect(d.attachments).toEqual([]);
  });

  it('says unknown-key when we hold no key for the signer', async () => {
    const d = await decode('report-signed-pgp-mime.eml', { senderKeys: [publicKey('reporter2')] });
    expect(d.signature).toEqual({ state: 'unknown-key', keyId: 'BA2553C53E641671', format: 'pgp-mime' });
  });

  it('says invalid when one byte of the signed body changed after signing', async () => {
    const d = await decode('report-tampered-signed.eml', { senderKeys: [publicKey('reporter1')] });
    expect(d.signature).toMatchObject({ state: 'invalid', keyId: 'BA2553C53E641671', format: 'pgp-mime' });
  });

  it('says invalid, not corrupt, when the signature packet itself is damaged (#10)', async () => {
    const d = await decode('report-damaged-signature.eml', { senderKeys: [publicKey('reporter1')] });
    expect(d.signature).toEqual({
      state: 'invalid',
      keyId: null,
      reason: DAMAGED_SIGNATURE,
      format: 'pgp-mime',
    });
    expect(d.text).toContain('leaks other tenants');
  });

  it('still verifies a copy whose line ends were converted to LF', async () => {
    const raw = edited('report-signed-pgp-mime.eml', (t) => t.replace(/\r\n/g, '\n'));
    const d = await decodeMessage(raw, await decodeDeps({ senderKeys: [publicKey('reporter1')] }));
    expect(d.signature.state).toBe('valid');
  });

  it('says invalid for a SHA-1 signature, which openpgp rejects for messages by default', async () => {
    const d = await decode('report-signed-sha1.eml', { senderKeys: [publicKey('reporter3')] });
    expect(d.signature).toMatchObject({
      state: 'invalid',
      keyId: '391A7CF946F23763',
      reason: expect.stringMatching(/SHA1/),
    });
  });

  it('fails when a gateway rewrote a header of the signed part', async () => {
    const raw = edited('report-signed-pgp-mime.eml', (t) =>
      t.replace('Content-Type: text/plain; charset=utf-8', 'Content-Type: text/plain; charset="utf-8"'),
    );
    const d = await decodeMessage(raw, await decodeDeps({ senderKeys: [publicKey('reporter1')] }));
    expect(d.signature.state).toBe('invalid');
  });

  it('marks a staff command signed by a key in senderKeys valid with that fingerprint', async () => {
    const d = await decode('staff-command-signed.eml', { senderKeys: [publicKey('alice')] });
    expect(d.signature).toMatchObject({
      state: 'valid',
      fingerprint: FINGERPRINTS.alice,
      format: 'pgp-mime',
    });
    expect(d.subject).toBe('Re: [SEC-2026-0001] XSS in the login form /assign bob');
    expect(d.text).toBe('/assign bob\nbody of the internal note');
  });

  it('says invalid, not valid, for a multipart/signed without its signature part', async () => {
    const raw = edited('report-signed-pgp-mime.eml', (t) =>
      t.replace(
        /--psirt-fixture-signed-boundary\r\nContent-Type: application\/pgp-signature[\s\S]*(?=--psirt-fixture-signed-boundary--)/,
        '',
      ),
    );
    const d = await decodeMessage(raw, await decodeDeps({ senderKeys: [publicKey('reporter1')] }));
    expect(d.signature).toMatchObject({ state: 'invalid', keyId: null });
  });
});

describe('decodeMessage() on clear-signed text', () => {
  it('verifies it and gives the text without armor or dash-escaping', async () => {
    const d = await decode('report-clearsigned.eml', { senderKeys: [publicKey('reporter1')] });
    expect(d.signature).toMatchObject({
      state: 'valid',
      format: 'cleartext',
      fingerprint: FINGERPRINTS.reporter1,
    });
    expect(d.text).toBe('I can confirm the open redirect on /logout?to=.\n- Reporter One\n');
  });

  it('says unknown-key without the sender key', async () => {
    const d = await decode('report-clearsigned.eml');
    expect(d.signature).toEqual({ state: 'unknown-key', keyId: 'BA2553C53E641671', format: 'cleartext' });
  });

  it('says invalid when the signed text was changed', async () => {
    const raw = edited('report-clearsigned.eml', (t) => t.replace('open redirect', 'open redirekt'));
    const d = await decodeMessage(raw, await decodeDeps({ senderKeys: [publicKey('reporter1')] }));
    expect(d.signature).toMatchObject({ state: 'invalid', format: 'cleartext' });
  });

  it('does not call the message valid when unsigned text surrounds the signed block', async () => {
    const raw = edited('report-clearsigned.eml', (t) =>
      t.replace('\r\n\r\n-----BEGIN PGP SIGNED', '\r\n\r\n/reply forged text\r\n-----BEGIN PGP SIGNED'),
    );
    const d = await decodeMessage(raw, await decodeDeps({ senderKeys: [publicKey('reporter1')] }));
    expect(d.signature).toMatchObject({
      state: 'invalid',
      reason: 'unsigned text surrounds the signed block',
    });
    expect(d.text).toMatch(/^\/reply forged text\nI can confirm/);
  });
});

describe('decodeMessage() on a multipart/signed whose second part is no signature', () => {
  it('keeps that part as an attachment and calls the signature invalid', async () => {
    const raw = Buffer.from(
      'From: a@b.test\r\nContent-Type: multipart/signed; protocol="application/pgp-signature"; boundary=s\r\n\r\n' +
        '--s\r\nContent-Type: text/plain\r\n\r\nhello\r\n' +
        '--s\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\n%PDF\r\n--s--\r\n',
    );
    const d = await decodeMessage(raw, await decodeDeps());
    expect(d.attachments.map((a) => a.filename)).toEqual(['a.pdf']);
    expect(d.signature).toMatchObject({ state: 'invalid', keyId: null });
  });
});
