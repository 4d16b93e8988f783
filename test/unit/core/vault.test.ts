import { describe, expect, it } from 'vitest';
import { isSealed, newDataKey, sealedKeyId, Vault } from '../../../src/core/vault.js';

const key = (id: number) => ({ id, key: newDataKey() });

describe('Vault (records sealed at rest, #13)', () => {
  it('seals to bytes that hold nothing of the plaintext, and opens them again', () => {
    const v = new Vault(key(7));
    const plain = Buffer.from('CANARY-7f3a heap overflow in the parser');
    const sealed = v.seal(plain, 'messages.raw');
    expect(isSealed(sealed)).toBe(true);
    expect(sealedKeyId(sealed)).toBe(7);
    expect(sealed.includes(Buffer.from('CANARY'))).toBe(false);
    expect(v.open(sealed, 'messages.raw').equals(plain)).toBe(true);
  });

  it('uses a fresh nonce each time: sealing the same text twice gives different bytes', () => {
    const v = new Vault(key(1));
    expect(v.seal('same', 'cases.subject').equals(v.seal('same', 'cases.subject'))).toBe(false);
  });

  it('refuses a record moved to another purpose, tampered with or truncated', () => {
    const v = new Vault(key(1));
    const sealed = v.seal('subject text', 'cases.subject');
    expect(() => v.open(sealed, 'messages.raw')).toThrow(/does not open/);
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 20]! ^= 1;
    expect(() => v.open(flipped, 'cases.subject')).toThrow(/does not open/);
    expect(() => v.open(sealed.subarray(0, sealed.length - 1), 'cases.subject')).toThrow(/does not open/);
  });

  it('opens records of older data keys it was given, and names a data key it lacks', () => {
    const old = key(1);
    const sealedOld = new Vault(old).seal('from before the rotation', 'outbox.payload');
    const rotated = new Vault(key(2), [old]);
    expect(rotated.openText(sealedOld, 'outbox.payload')).toBe('from before the rotation');
    expect(rotated.currentKeyId).toBe(2);
    expect(() => new Vault(key(2)).open(sealedOld, 'outbox.payload')).toThrow(/data key 1/);
  });

  it('an open-only vault opens but does not seal', () => {
    const k = key(3);
    const sealed = new Vault(k).seal('x', 'spool');
    const reader = new Vault(null, [k]);
    expect(reader.openText(sealed, 'spool')).toBe('x');
    expect(() => reader.seal('y', 'spool')).toThrow(/no data key/);
  });

  it('passes clear data through openOrClear (a database from before #13) and tells it apart', async () => {
    const v = new Vault(key(1));
    const clear = Buffer.from('From: a@example.org\r\n\r\nbody');
    expect(isSealed(clear)).toBe(false);
    expect((await v.openOrClear(clear, 'messages.raw')).equals(clear)).toBe(true);
    expect((await v.openOrClear(v.seal(clear, 'messages.raw'), 'messages.raw')).equals(clear)).toBe(true);
  });
});
