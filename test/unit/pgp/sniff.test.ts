import { readFileSync } from 'node:fs';
import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { sniffOpenPgp } from '../../../src/pgp/sniff.js';
import { KEYS_DIR, publicKey } from '../../support/mail-fixtures.js';

const text = (s: string) => Buffer.from(s, 'latin1');

describe('sniffOpenPgp()', () => {
  it.each([
    ['-----BEGIN PGP MESSAGE-----\n', 'message'],
    ['Hi\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n', 'cleartext'],
    ['-----BEGIN PGP PUBLIC KEY BLOCK-----\n', 'public-key'],
    ['-----BEGIN PGP PRIVATE KEY BLOCK-----\n', 'secret-key'],
    ['-----BEGIN PGP SIGNATURE-----\n', 'signature'],
  ])('recognises the armor line of %j', (armor, kind) => {
    expect(sniffOpenPgp(text(armor))).toBe(kind);
  });

  it('does not take an armor line quoted in the middle of a line', () => {
    expect(sniffOpenPgp(text('see "-----BEGIN PGP MESSAGE-----" here'))).toBeNull();
  });

  it('recognises binary keys and messages by their first packet', async () => {
    const pub = await openpgp.readKey({ armoredKey: publicKey('alice') });
    const sec = await openpgp.readPrivateKey({
      armoredKey: readFileSync(`${KEYS_DIR}alice.sec.asc`, 'utf8'),
    });
    const message = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: text('x') }),
      encryptionKeys: pub.toPublic(),
      format: 'binary',
    });
    expect([sniffOpenPgp(pub.write()), sniffOpenPgp(sec.write()), sniffOpenPgp(message)]).toEqual([
      'public-key',
      'secret-key',
      'message',
    ]);
  });

  it('says null for ordinary data', () => {
    expect(sniffOpenPgp(text('%PDF-1.7'))).toBeNull();
    expect(sniffOpenPgp(new Uint8Array())).toBeNull();
  });
});
