import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { openMessage } from '../../../src/pgp/decrypt-message.js';
import { readPublicKeys } from '../../../src/pgp/read-keys.js';
import { FINGERPRINTS, NOW, publicKey, readMail, teamKey } from '../../support/mail-fixtures.js';

const limits = { maxDecompressedBytes: 1 << 20, now: NOW };

/** The armored OpenPGP message of a PGP/MIME fixture. */
function armoredOf(name: string): string {
  const text = readMail(name).toString('latin1');
  return /-----BEGIN PGP MESSAGE-----[\s\S]*?-----END PGP MESSAGE-----/.exec(text)![0];
}

describe('openMessage()', () => {
  it('decrypts with the team key and names the recipient key ids', async () => {
    const opened = await openMessage(armoredOf('report-pgp-mime.eml'), [await teamKey()], limits);
    expect(opened).toMatchObject({
      kind: 'decrypted',
      recipientKeyIds: ['230498BBAFF2A7BE'],
      teamKeyFingerprint: FINGERPRINTS.team,
    });
  });

  it('leaves the signature of a signed message to be checked later, against any keys', async () => {
    const opened = await openMessage(armoredOf('report-pgp-mime-signed.eml'), [await teamKey()], limits);
    if (opened.kind !== 'decrypted') throw new Error(`expected decrypted, got ${opened.kind}`);
    expect(opened.signatures.signerKeyIds).toEqual(['BA2553C53E641671']);
    expect(await opened.signatures.check([], NOW)).toEqual({
      state: 'unknown-key',
      keyId: 'BA2553C53E641671',
    });
    const { keys } = await readPublicKeys([publicKey('reporter1')]);
    expect(await opened.signatures.check(keys, NOW)).toMatchObject({
      state: 'valid',
      fingerprint: FINGERPRINTS.reporter1,
    });
  });

  it('says no-matching-key without trying a key that is not a recipient', async () => {
    const opened = await openMessage(armoredOf('report-wrong-key.eml'), [await teamKey()], limits);
    expect(opened).toMatchObject({
      kind: 'failed',
      reason: 'no-matching-key',
      recipientKeyIds: ['12C706677EA21867'],
    });
  });

  it('tries every team key when the recipient is hidden (wildcard key id)', async () => {
    const team = await teamKey();
    const armored = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: Buffer.from('hidden recipient') }),
      encryptionKeys: team.key.toPublic(),
      wildcard: true,
    });
    const opened = await openMessage(armored, [await teamKey('alice'), team], limits);
    expect(opened).toMatchObject({ kind: 'decrypted', teamKeyFingerprint: FINGERPRINTS.team });
  });

  it('says unsupported for a message encrypted to a passphrase only', async () => {
    const armored = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: Buffer.from('x') }),
      passwords: 'secret',
    });
    expect(await openMessage(armored, [await teamKey()], limits)).toMatchObject({
      kind: 'failed',
      reason: 'unsupported',
    });
  });

  it('says too-large for an uncompressed plaintext over the limit', async () => {
    const team = await teamKey();
    const armored = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: Buffer.alloc(4096, 'a') }),
      encryptionKeys: team.key.toPublic(),
    });
    expect(await openMessage(armored, [team], { ...limits, maxDecompressedBytes: 1000 })).toMatchObject({
      kind: 'failed',
      reason: 'too-large',
    });
  });

  it('says corrupt for data that is not an OpenPGP message', async () => {
    expect(
      await openMessage(
        '-----BEGIN PGP MESSAGE-----\n\nbm9wZQ==\n-----END PGP MESSAGE-----\n',
        [await teamKey()],
        limits,
      ),
    ).toMatchObject({
      kind: 'failed',
      reason: 'corrupt',
    });
  });

  it('unwraps a signed message that is not encrypted', async () => {
    const alice = await teamKey('alice');
    const armored = await openpgp.sign({
      message: await openpgp.createMessage({ binary: Buffer.from('signed only') }),
      signingKeys: alice.key,
      // Before the fixtures' fixed NOW it is checked at: a wall-clock date after it is "in the future".
      date: new Date('2026-11-30T10:00:00Z'),
    });
    const opened = await openMessage(armored, [await teamKey()], limits);
    expect(opened.kind).toBe('not-encrypted');
    if (opened.kind !== 'not-encrypted') return;
    expect(Buffer.from(opened.data).toString()).toBe('signed only');
    const { keys } = await readPublicKeys([publicKey('alice')]);
    expect(await opened.signatures.check(keys, NOW)).toMatchObject({
      state: 'valid',
      fingerprint: FINGERPRINTS.alice,
    });
  });
});
