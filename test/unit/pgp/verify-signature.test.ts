import { createHash } from 'node:crypto';
import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { readPublicKeys } from '../../../src/pgp/read-keys.js';
import {
  DAMAGED_SIGNATURE,
  readCleartext,
  readDetachedSignature,
} from '../../../src/pgp/verify-signature.js';
import { FINGERPRINTS, NOW, publicKey, teamKey } from '../../support/mail-fixtures.js';

/** The binary packets inside an ASCII armor (RFC 9580 §6): the base64 lines before the checksum. */
function dearmor(armored: string): Buffer {
  const body = armored.split(/\r?\n\r?\n/)[1] ?? '';
  return Buffer.from(
    body
      .split(/\r?\n/)
      .filter((l) => l !== '' && !l.startsWith('=') && !l.startsWith('-----'))
      .join(''),
    'base64',
  );
}

const data = Buffer.from('Content-Type: text/plain\r\n\r\nsigned');

async function signedBy(name: 'alice' | 'bob', opts: { date?: Date } = {}) {
  const key = await teamKey(name);
  return openpgp.sign({
    message: await openpgp.createMessage({ binary: data }),
    signingKeys: key.key,
    detached: true,
    ...(opts.date ? { date: opts.date } : {}),
  });
}

describe('readDetachedSignature()', () => {
  it('is valid for the signer key, with its fingerprint and the creation time', async () => {
    const armored = await signedBy('alice', { date: new Date('2026-11-30T10:00:00Z') });
    const pending = await readDetachedSignature(data, armored);
    if ('state' in pending) throw new Error(pending.state);
    const { keys } = await readPublicKeys([publicKey('bob'), publicKey('alice')]);
    expect(await pending.check(keys, NOW)).toEqual({
      state: 'valid',
      fingerprint: FINGERPRINTS.alice,
      keyId: 'F3A0804237898995',
      createdAt: new Date('2026-11-30T10:00:00Z'),
      // The digest is of the signature packet's bytes: the armor's base64 body, decoded.
      digest: createHash('sha256').update(dearmor(armored)).digest('hex'),
    });
  });

  it('gives two signatures over the same data different digests (the replay key)', async () => {
    const { keys } = await readPublicKeys([publicKey('alice')]);
    const digests = [];
    for (const date of [new Date('2026-11-30T10:00:00Z'), new Date('2026-11-30T10:00:01Z')]) {
      const pending = await readDetachedSignature(data, await signedBy('alice', { date }));
      if ('state' in pending) throw new Error(pending.state);
      const r = await pending.check(keys, NOW);
      digests.push(r.state === 'valid' ? r.digest : r.state);
    }
    expect(digests[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(digests[0]).not.toBe(digests[1]);
  });

  it('is invalid, not a rejection, when a key we hold does not verify it', async () => {
    const pending = await readDetachedSignature(Buffer.from('other bytes'), await signedBy('alice'));
    if ('state' in pending) throw new Error(pending.state);
    const { keys } = await readPublicKeys([publicKey('alice')]);
    expect(await pending.check(keys, NOW)).toMatchObject({ state: 'invalid', keyId: 'F3A0804237898995' });
  });

  it('is invalid for a signature made after "now" (clock skew or forgery)', async () => {
    const pending = await readDetachedSignature(
      data,
      await signedBy('alice', { date: new Date('2027-01-01T00:00:00Z') }),
    );
    if ('state' in pending) throw new Error(pending.state);
    const { keys } = await readPublicKeys([publicKey('alice')]);
    expect((await pending.check(keys, NOW)).state).toBe('invalid');
  });

  it('is invalid at once for an unreadable signature', async () => {
    expect(await readDetachedSignature(data, 'not a signature')).toMatchObject({
      state: 'invalid',
      keyId: null,
    });
  });
});

describe('readDetachedSignature() on a damaged signature packet (#10 item 4)', () => {
  it('gives an invalid verdict, not an exception, when the packet names no signing key', async () => {
    const packet = dearmor(await signedBy('alice'));
    // New-format header (tag, one length octet), then the version octet.
    expect(packet[2]).toBe(4);
    packet[2] = 5;
    const pending = await readDetachedSignature(data, packet);
    if ('state' in pending) throw new Error(`read as ${pending.state}`);
    const { keys } = await readPublicKeys([publicKey('alice')]);
    expect(await pending.check(keys, NOW)).toEqual({
      state: 'invalid',
      keyId: null,
      reason: DAMAGED_SIGNATURE,
    });
  });
});

describe('readCleartext()', () => {
  it('returns the text and checks the signature later', async () => {
    const alice = await teamKey('alice');
    const armored = await openpgp.sign({
      message: await openpgp.createCleartextMessage({ text: 'hello\n- dash line' }),
      signingKeys: alice.key,
    });
    const read = await readCleartext(armored);
    if ('error' in read) throw new Error(read.error);
    expect(read.text).toBe('hello\n- dash line');
    expect(await read.signatures.check([], NOW)).toEqual({ state: 'unknown-key', keyId: 'F3A0804237898995' });
  });
});
