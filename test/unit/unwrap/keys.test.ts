import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../../src/3-unwrap/unwrap.js';
import { decodeDeps, FINGERPRINTS, readMail } from '../../support/mail-fixtures.js';

const decode = async (name: string) => decodeMessage(readMail(name), await decodeDeps());

describe('decodeMessage() keys the reporter sends', () => {
  it('reads an attached application/pgp-keys part (source attachment)', async () => {
    const d = await decode('report-attached-key.eml');
    expect(d.keys).toHaveLength(1);
    expect(d.keys[0]).toMatchObject({
      fingerprint: FINGERPRINTS.reporter2,
      source: 'attachment',
      addresses: ['reporter2@psirt.test'],
    });
    expect(d.keys[0]?.armored).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
  });

  it('verifies a signature with the key attached to the same mail', async () => {
    const d = await decode('report-attached-key.eml');
    expect(d.signature).toMatchObject({
      state: 'valid',
      fingerprint: FINGERPRINTS.reporter2,
      format: 'pgp-mime',
    });
  });

  it('reads the Autocrypt header key when its addr is the From address', async () => {
    const d = await decode('report-autocrypt.eml');
    expect(d.keys).toEqual([
      expect.objectContaining({
        fingerprint: FINGERPRINTS.reporter2,
        source: 'autocrypt',
        addresses: ['reporter2@psirt.test'],
      }),
    ]);
    expect(d.headers.autocrypt).toMatch(
      /^addr=reporter2@psirt\.test; prefer-encrypt=mutual; keydata= ?mDMEa/,
    );
  });

  it('ignores the Autocrypt key when its addr is not the From address', async () => {
    const raw = readMail('report-autocrypt.eml')
      .toString('latin1')
      .replace('From: Reporter Two <reporter2@psirt.test>', 'From: Mallory <mallory@evil.test>');
    const d = await decodeMessage(Buffer.from(raw, 'latin1'), await decodeDeps());
    expect(d.keys).toEqual([]);
    expect(d.problems).toEqual([
      'the Autocrypt header is for another address than From; its key was ignored',
    ]);
  });

  it('reads a key attached inside the encrypted part (source encrypted-part) and verifies with it', async () => {
    const d = await decode('report-key-in-encrypted-part.eml');
    expect(d.keys.map((k) => [k.fingerprint, k.source])).toEqual([
      [FINGERPRINTS.reporter2, 'encrypted-part'],
    ]);
    expect(d.signature).toMatchObject({
      state: 'valid',
      fingerprint: FINGERPRINTS.reporter2,
      format: 'encrypted',
    });
  });

  it('drops an attached secret key entirely and records a problem without key material', async () => {
    const d = await decode('report-secret-key-attached.eml');
    expect(d.keys).toEqual([]);
    expect(d.attachments).toEqual([]);
    expect(d.problems).toEqual(['attachment 1 held secret key material and was dropped']);
  });

  it('cuts a secret key block pasted into the text', async () => {
    const secret = readMail('report-secret-key-attached.eml')
      .toString('latin1')
      .match(/-----BEGIN PGP PRIVATE KEY BLOCK-----[\s\S]*?-----END PGP PRIVATE KEY BLOCK-----/)![0];
    const raw = Buffer.from(
      `From: reporter2@psirt.test\r\nSubject: key\r\n\r\nmy key:\r\n${secret}\r\nthanks\r\n`,
      'latin1',
    );
    const d = await decodeMessage(raw, await decodeDeps());
    expect(d.text).toBe('my key:\n[secret key material removed]\nthanks\n');
    expect(d.problems).toEqual(['the text held a secret key block, which was removed']);
  });
});
