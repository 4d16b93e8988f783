import * as openpgp from 'openpgp';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PublicKeyCache, type ReadArmoredKey } from '../../../src/pgp/key-cache.js';
import { createSealer } from '../../../src/pgp/sealer.js';
import { micalgOf } from '../../../src/pgp/sign-and-encrypt.js';
import { KEYS_DIR, publicKey, teamKey } from '../../support/mail-fixtures.js';

/** A reader that counts the texts it parses (openpgp.readKey underneath). */
function countingReader(): { read: ReadArmoredKey; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    read: (armoredKey) => {
      calls.push(armoredKey);
      return openpgp.readKey({ armoredKey });
    },
  };
}

async function decryptAs(name: 'reporter1' | 'reporter2', armored: string): Promise<string> {
  const key = await openpgp.readPrivateKey({
    armoredKey: readFileSync(join(KEYS_DIR, `${name}.sec.asc`), 'utf8'),
  });
  const { data } = await openpgp.decrypt({
    message: await openpgp.readMessage({ armoredMessage: armored }),
    decryptionKeys: key,
    format: 'binary',
  });
  return Buffer.from(data).toString('utf8');
}

describe('PublicKeyCache (#16)', () => {
  it('parses a recipient key once for two mails encrypted to it by one sealer', async () => {
    const counter = countingReader();
    const sealer = createSealer(await teamKey(), { keys: new PublicKeyCache(256, counter.read) });
    const first = await sealer.encrypt(Buffer.from('first'), [publicKey('reporter1')]);
    const second = await sealer.encrypt(Buffer.from('second'), [publicKey('reporter1')]);
    expect(counter.calls).toHaveLength(1);
    // The reused key still encrypts to the recipient, every time.
    expect(await decryptAs('reporter1', first)).toBe('first');
    expect(await decryptAs('reporter1', second)).toBe('second');
    // Still SEIPD v1 (what GnuPG 2.2 reads), never AEAD.
    const message = await openpgp.readMessage({ armoredMessage: second });
    const data = message.packets.filterByTag(openpgp.enums.packet.symEncryptedIntegrityProtectedData);
    expect(data.map((p) => (p as unknown as { version: number }).version)).toEqual([1]);
    expect(message.packets.filterByTag(openpgp.enums.packet.aeadEncryptedData)).toHaveLength(0);
  });

  it('parses each distinct key once, and never answers one key for another', async () => {
    const counter = countingReader();
    const cache = new PublicKeyCache(256, counter.read);
    const sealer = createSealer(await teamKey(), { keys: cache });
    await sealer.encrypt(Buffer.from('a'), [publicKey('reporter1')]);
    const toTwo = await sealer.encrypt(Buffer.from('b'), [publicKey('reporter2')]);
    await sealer.encrypt(Buffer.from('c'), [publicKey('reporter1'), publicKey('reporter2')]);
    expect(counter.calls).toHaveLength(2);
    expect(await decryptAs('reporter2', toTwo)).toBe('b');
    await expect(decryptAs('reporter1', toTwo)).rejects.toThrow();
  });

  it('keeps at most `limit` keys, dropping the least recently used first', async () => {
    const counter = countingReader();
    const cache = new PublicKeyCache(2, counter.read);
    const [k1, k2, k3] = [publicKey('reporter1'), publicKey('reporter2'), publicKey('reporter3')];
    await cache.get(k1);
    await cache.get(k2);
    await cache.get(k1); // k1 is now the most recent: k2 goes when k3 arrives
    await cache.get(k3);
    expect(cache.size).toBe(2);
    await cache.get(k1);
    expect(counter.calls).toEqual([k1, k2, k3]);
    await cache.get(k2);
    expect(counter.calls).toEqual([k1, k2, k3, k2]);
  });

  it('does not keep a text that is no key: it is read (and refused) again', async () => {
    const counter = countingReader();
    const cache = new PublicKeyCache(256, counter.read);
    await expect(cache.get('not a key')).rejects.toThrow();
    await expect(cache.get('not a key')).rejects.toThrow();
    expect(counter.calls).toHaveLength(2);
    expect(cache.size).toBe(0);
  });

  it('keeps the public part only of an armored private key', async () => {
    const cache = new PublicKeyCache();
    const key = await cache.get(readFileSync(join(KEYS_DIR, 'reporter1.sec.asc'), 'utf8'));
    expect(key.isPrivate()).toBe(false);
  });
});

describe('createSealer().sign (#16)', () => {
  it('gives the micalg that reading its own signature back gives', async () => {
    const { armored, micalg } = await createSealer(await teamKey()).sign(Buffer.from('x'));
    expect(armored).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
    expect(micalg).toBe(await micalgOf(armored));
  });
});
