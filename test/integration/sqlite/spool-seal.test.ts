import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { readStoredHead, readStoredRaw, storeRaw } from '../../../src/7-cases/intake-store.js';
import { fixedClock } from '../../../src/core/clock.js';
import { isSealed, newDataKey, Vault } from '../../../src/core/vault.js';
import { migratedDb } from '../../support/db.js';

const key = (id: number) => ({ id, key: newDataKey() });
const dir = () => mkdtempSync(join(tmpdir(), 'psirt-spool-'));
const CANARY = Buffer.from('CANARY-spool-5b1e');

/** A mail of `size` bytes: headers naming the canary, then random filler in many chunks. */
function bigMail(size: number): Buffer {
  const head = Buffer.from(`Subject: ${CANARY.toString()} firmware\r\nMessage-ID: <big@x>\r\n\r\n`);
  return Buffer.concat([head, randomBytes(size - head.length)]);
}

async function sealToFile(v: Vault, plain: Buffer, path: string, chunk = 64 * 1024): Promise<void> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < plain.length; i += chunk) chunks.push(plain.subarray(i, i + chunk));
  await pipeline(Readable.from(chunks), v.sealingStream('spool'), createWriteStream(path));
}

describe('Vault.sealingStream() and openFile() (spool files, #13)', () => {
  it('writes a file in the sealed record layout that holds nothing of the mail and opens to every byte', async () => {
    const v = new Vault(key(3));
    const plain = bigMail(3 * 1024 * 1024 + 17);
    const path = join(dir(), 'm.eml');
    await sealToFile(v, plain, path);
    const bytes = readFileSync(path);
    expect(isSealed(bytes)).toBe(true);
    expect(bytes.includes(CANARY)).toBe(false);
    expect(bytes.length).toBe(plain.length + 4 + 4 + 12 + 16);
    // The same layout as seal(): a record opener reads it too.
    expect(v.open(bytes, 'spool').equals(plain)).toBe(true);
    expect((await v.openFile(path, 'spool')).equals(plain)).toBe(true);
  });

  it('seals an empty stream to a record that opens empty', async () => {
    const v = new Vault(key(1));
    const path = join(dir(), 'empty.eml');
    await sealToFile(v, Buffer.alloc(0), path);
    expect((await v.openFile(path, 'spool')).length).toBe(0);
  });

  it('opens only the head when given a limit, still checking the tag over the whole file', async () => {
    const v = new Vault(key(1));
    const plain = bigMail(2 * 1024 * 1024);
    const path = join(dir(), 'm.eml');
    await sealToFile(v, plain, path);
    const head = await v.openFile(path, 'spool', 1000);
    expect(head.equals(plain.subarray(0, 1000))).toBe(true);
    // One flipped byte far past the head: the head is refused too.
    const bytes = readFileSync(path);
    bytes[bytes.length - 100]! ^= 1;
    writeFileSync(path, bytes);
    await expect(v.openFile(path, 'spool', 1000)).rejects.toThrow(/does not open \(tampered or damaged\)/);
  });

  it('refuses a file cut short (a .partial left by a crash) and one sealed for another purpose', async () => {
    const v = new Vault(key(1));
    const path = join(dir(), 'm.eml');
    await sealToFile(v, bigMail(100_000), path);
    const cut = join(dir(), 'cut.eml');
    writeFileSync(cut, readFileSync(path).subarray(0, 50_000));
    await expect(v.openFile(cut, 'spool')).rejects.toThrow(/tampered or damaged/);
    await expect(v.openFile(path, 'messages.raw')).rejects.toThrow(/tampered or damaged/);
  });

  it('names the data key a file needs when this vault does not hold it, never the content', async () => {
    const path = join(dir(), 'm.eml');
    await sealToFile(new Vault(key(9)), bigMail(10_000), path);
    const err = await new Vault(key(1)).openFile(path, 'spool').then(
      () => new Error('opened'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toMatch(/data key 9/);
    expect(err.message).not.toContain('CANARY');
  });

  it('reads a spool file written in clear before #13 as it is', async () => {
    const path = join(dir(), 'old.eml');
    const plain = bigMail(5000);
    writeFileSync(path, plain);
    expect((await new Vault(key(1)).openFile(path, 'spool')).equals(plain)).toBe(true);
    expect((await new Vault(key(1)).openFile(path, 'spool', 10)).equals(plain.subarray(0, 10))).toBe(true);
  });
});

describe('the store reads spooled and stored mail through the vault (#13)', () => {
  const clock = fixedClock('2026-11-24T12:00:00Z');
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  it('opens a sealed spool file for decoding and its head for the header scan', async () => {
    const db = migratedDb(clock);
    const v = new Vault(key(1));
    const plain = bigMail(1_500_000);
    const path = join(dir(), `${sha(plain)}.eml`);
    await sealToFile(v, plain, path);
    const stored = storeRaw(db, clock, v, {
      mailbox: 'INBOX',
      uidvalidity: '1',
      uid: 1,
      size: plain.length,
      raw: null,
      rawPath: path,
      sha256: sha(plain),
      messageId: 'big@x',
      internalDate: null,
    });
    const opened = await readStoredRaw(db, v, stored.rowId, 50 * 1024 * 1024);
    expect(opened!.equals(plain)).toBe(true);
    const head = await readStoredHead(db, v, stored.rowId, 256);
    expect(head.equals(plain.subarray(0, 256))).toBe(true);
    // Over the decode limit: not decoded at all (oversize), yet its head still scans.
    expect(await readStoredRaw(db, v, stored.rowId, 1_000_000)).toBeNull();
  });

  it('keeps the digest of the mail as fetched (dedupe), not of its sealed form', () => {
    const db = migratedDb(clock);
    const v = new Vault(key(1));
    const raw = Buffer.from('Message-ID: <d@x>\r\n\r\nsame bytes');
    const m = {
      mailbox: 'INBOX',
      uidvalidity: '1',
      size: raw.length,
      raw,
      rawPath: null,
      sha256: sha(raw),
      messageId: 'd@x',
      internalDate: null,
    };
    const first = storeRaw(db, clock, v, { ...m, uid: 1 });
    const again = storeRaw(db, clock, v, { ...m, uid: 2 });
    expect(again).toMatchObject({ kind: 'known', rowId: first.rowId, sameBytes: true });
    const row = db.prepare('SELECT sha256, raw FROM messages WHERE id = ?').get(first.rowId) as {
      sha256: string;
      raw: Buffer;
    };
    expect(row.sha256).toBe(sha(raw));
    expect(row.raw.includes('same bytes')).toBe(false);
  });

  it('reads a row stored in clear before #13 as it is', async () => {
    const db = migratedDb(clock);
    const raw = Buffer.from('Message-ID: <old@x>\r\n\r\nold clear row');
    db.prepare(
      `INSERT INTO messages (mailbox, uidvalidity, uid, sha256, message_id, size, raw, stored_at)
       VALUES ('INBOX', '1', 1, ?, 'old@x', ?, ?, ?)`,
    ).run(sha(raw), raw.length, raw, clock.now().toISOString());
    const v = new Vault(key(1));
    expect((await readStoredRaw(db, v, 1, 1 << 20))!.equals(raw)).toBe(true);
    expect((await readStoredHead(db, v, 1, 10)).equals(raw.subarray(0, 10))).toBe(true);
  });
});
