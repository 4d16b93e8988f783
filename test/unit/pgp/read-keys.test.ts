import { readFileSync } from 'node:fs';
import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { readKeyBlock, readPublicKeys } from '../../../src/pgp/read-keys.js';
import { FINGERPRINTS, KEYS_DIR, publicKey } from '../../support/mail-fixtures.js';

describe('readKeyBlock()', () => {
  it('reads an armored public key with its uppercase fingerprint and user-ID addresses', async () => {
    const block = await readKeyBlock(publicKey('reporter1'));
    expect(block.kind).toBe('public');
    if (block.kind !== 'public') return;
    expect(block.keys.map((k) => [k.fingerprint, k.addresses])).toEqual([
      [FINGERPRINTS.reporter1, ['reporter1@psirt.test']],
    ]);
    expect(block.keys[0]?.armored).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
  });

  it('reads every block of a text with several armored keys', async () => {
    const block = await readKeyBlock(`${publicKey('alice')}\n${publicKey('bob')}`);
    expect(block.kind === 'public' ? block.keys.map((k) => k.fingerprint) : []).toEqual([
      FINGERPRINTS.alice,
      FINGERPRINTS.bob,
    ]);
  });

  it('reads a binary key', async () => {
    const key = await openpgp.readKey({ armoredKey: publicKey('carol') });
    const block = await readKeyBlock(key.write());
    expect(block.kind === 'public' ? block.keys[0]?.fingerprint : null).toBe(FINGERPRINTS.carol);
  });

  it('refuses an armored secret key without returning any of it', async () => {
    expect(await readKeyBlock(readFileSync(`${KEYS_DIR}reporter2.sec.asc`, 'utf8'))).toEqual({
      kind: 'secret',
    });
  });

  it('refuses a binary secret key', async () => {
    const key = await openpgp.readPrivateKey({
      armoredKey: readFileSync(`${KEYS_DIR}reporter2.sec.asc`, 'utf8'),
    });
    expect(await readKeyBlock(key.write())).toEqual({ kind: 'secret' });
  });

  it('refuses a text that mixes a public and a secret key', async () => {
    const mixed = `${publicKey('alice')}\n${readFileSync(`${KEYS_DIR}reporter2.sec.asc`, 'utf8')}`;
    expect(await readKeyBlock(mixed)).toEqual({ kind: 'secret' });
  });

  it('says unreadable for text that is no key', async () => {
    expect((await readKeyBlock('hello')).kind).toBe('unreadable');
  });
});

describe('readPublicKeys()', () => {
  it('reports unreadable stored keys by index', async () => {
    const { keys, unreadable } = await readPublicKeys([publicKey('alice'), 'garbage', publicKey('bob')]);
    expect(keys.map((k) => k.fingerprint)).toEqual([FINGERPRINTS.alice, FINGERPRINTS.bob]);
    expect(unreadable).toEqual([1]);
  });
});
