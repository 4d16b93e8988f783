import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { PsirtError } from './errors.js';

/**
 * Sealing of report content at rest (issue #13, DESIGN.md invariant 6): every stored copy of
 * report content is sealed with a data key (AES-256-GCM) before it is written, and each data key
 * is stored only wrapped — an OpenPGP message encrypted to the team key. A stolen database,
 * spool folder or backup is worthless without the team key and its passphrase.
 *
 * Layout of a sealed record (binary):
 *
 *     "PSL1" | data key id (uint32 BE) | nonce (12) | ciphertext | tag (16)
 *
 * The purpose (`messages.raw`, `cases.subject`, …) is the GCM additional data: a sealed value
 * moved into another column does not open.
 */

const MAGIC = Buffer.from('PSL1', 'latin1');
const HEADER = MAGIC.length + 4 + 12;
const TAG = 16;
/** A data key's length: AES-256. */
export const DATA_KEY_BYTES = 32;

/** Where a sealed value lives: bound into its authentication tag. */
export type SealPurpose =
  | 'messages.raw'
  | 'spool'
  | 'cases.subject'
  | 'outbox.subject'
  | 'outbox.payload'
  // #14: the advisory fields on a case, and each frozen advisory version.
  | 'cases.advisory'
  | 'advisory.doc';

/** What a vault MAC authenticates: bound into its key, so a tag for one use is no tag for another. */
export type MacPurpose = 'deadman.probe';

/** HMAC-SHA256 under a key derived from the data key for the purpose (never the data key itself). */
function macTag(dataKey: Buffer, data: string, purpose: MacPurpose): string {
  const key = createHmac('sha256', dataKey).update(`psirt-mac-v1:${purpose}`).digest();
  return createHmac('sha256', key).update(data, 'utf8').digest('base64url');
}

/** True for bytes in the sealed layout (anything else is legacy clear data). */
export function isSealed(data: Uint8Array): boolean {
  return data.length >= HEADER + TAG && Buffer.from(data.buffer, data.byteOffset, 4).equals(MAGIC);
}

/** The data key id a sealed value names, or null for clear data. */
export function sealedKeyId(data: Uint8Array): number | null {
  if (!isSealed(data)) return null;
  return Buffer.from(data.buffer, data.byteOffset, data.length).readUInt32BE(MAGIC.length);
}

/** A data key in clear (memory only; never logged, never written unwrapped). */
export interface DataKey {
  id: number;
  key: Buffer;
}

/**
 * Seals with the current data key and opens with any data key it was given. `seal` is
 * synchronous so it runs inside a SQLite transaction. A vault made without a current key opens
 * only (the read-only CLI); one made without any key is `Vault.none()`, which refuses both.
 */
export class Vault {
  private readonly keys = new Map<number, Buffer>();
  private readonly current: DataKey | null;
  private readonly loader: ((id: number) => Promise<Buffer | null>) | undefined;

  /**
   * `loader` fetches a data key this vault was not given (one another process created after this
   * one started: a rotation, or two processes starting at once), for `openFresh`.
   */
  constructor(
    current: DataKey | null,
    readable: readonly DataKey[] = [],
    loader?: (id: number) => Promise<Buffer | null>,
  ) {
    this.current = current;
    this.loader = loader;
    for (const k of readable) this.keys.set(k.id, k.key);
    if (current !== null) this.keys.set(current.id, current.key);
  }

  /** The id of the data key new records are sealed with (null: this vault cannot seal). */
  get currentKeyId(): number | null {
    return this.current?.id ?? null;
  }

  /** True when `open` can open a record sealed with this data key. */
  canOpen(keyId: number): boolean {
    return this.keys.has(keyId);
  }

  seal(plain: Uint8Array | string, purpose: SealPurpose): Buffer {
    if (this.current === null)
      throw new PsirtError('seal_no_key', 'this process holds no data key to seal with');
    const data = typeof plain === 'string' ? Buffer.from(plain, 'utf8') : plain;
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, nonce);
    cipher.setAAD(Buffer.from(purpose, 'latin1'));
    const id = Buffer.alloc(4);
    id.writeUInt32BE(this.current.id);
    return Buffer.concat([MAGIC, id, nonce, cipher.update(data), cipher.final(), cipher.getAuthTag()]);
  }

  /**
   * Opens a sealed record. Throws `PsirtError` `seal_not_sealed`, `seal_key_unavailable` (naming
   * the data key id: its team key is not configured or not unlocked) or `seal_corrupt` (the tag
   * does not match: tampered, truncated, or moved from another purpose). Never the content.
   */
  open(sealed: Uint8Array, purpose: SealPurpose): Buffer {
    const id = sealedKeyId(sealed);
    if (id === null) throw new PsirtError('seal_not_sealed', `the ${purpose} record is not sealed`);
    const key = this.keys.get(id);
    if (key === undefined)
      throw new PsirtError(
        'seal_key_unavailable',
        `the ${purpose} record is sealed with data key ${id}, whose team key is not configured or not unlocked`,
      );
    const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.length);
    const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(MAGIC.length + 4, HEADER));
    decipher.setAAD(Buffer.from(purpose, 'latin1'));
    decipher.setAuthTag(buf.subarray(buf.length - TAG));
    try {
      return Buffer.concat([decipher.update(buf.subarray(HEADER, buf.length - TAG)), decipher.final()]);
    } catch (err) {
      throw new PsirtError('seal_corrupt', `the ${purpose} record does not open (tampered or damaged)`, {
        cause: err,
      });
    }
  }

  /** `open`, first fetching the record's data key through the loader when this vault lacks it. */
  async openFresh(sealed: Uint8Array, purpose: SealPurpose): Promise<Buffer> {
    const id = sealedKeyId(sealed);
    if (id !== null) await this.ensureKey(id);
    return this.open(sealed, purpose);
  }

  /** Fetches a data key this vault lacks through the loader (a key made after this start). */
  private async ensureKey(id: number): Promise<void> {
    if (this.keys.has(id) || this.loader === undefined) return;
    const key = await this.loader(id);
    if (key !== null) this.keys.set(id, key);
  }

  /**
   * A stream that seals what passes through it (#13: spool files, never held in memory): it
   * writes the record header first, the ciphertext as it comes, and the tag at the end — the
   * same layout as `seal`, so a complete sealed file opens with `open` or `openFile`. A file
   * cut short (a `.partial` left by a crash) has no valid tag and never opens.
   */
  sealingStream(purpose: SealPurpose): Transform {
    if (this.current === null)
      throw new PsirtError('seal_no_key', 'this process holds no data key to seal with');
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, nonce);
    cipher.setAAD(Buffer.from(purpose, 'latin1'));
    const id = Buffer.alloc(4);
    id.writeUInt32BE(this.current.id);
    let started = false;
    const header = (): Buffer[] => {
      if (started) return [];
      started = true;
      return [MAGIC, id, nonce];
    };
    return new Transform({
      transform(chunk: Buffer, _enc, cb) {
        cb(null, Buffer.concat([...header(), cipher.update(chunk)]));
      },
      flush(cb) {
        try {
          cb(null, Buffer.concat([...header(), cipher.final(), cipher.getAuthTag()]));
        } catch (err) {
          cb(err as Error);
        }
      },
    });
  }

  /**
   * Opens a sealed file without holding more than `limit` bytes of it (default: all): the
   * ciphertext is streamed through the decipher and the tag checked at the end, so even the
   * head of a 50 MB spool file is authenticated before it is used. A file in clear (written
   * before #13) is read as it is, up to `limit`. Throws the errors of `open`, never the content.
   */
  async openFile(path: string, purpose: SealPurpose, limit = Infinity): Promise<Buffer> {
    const fh = await openFile(path, 'r');
    let size: number;
    let head: Buffer;
    let tag: Buffer;
    try {
      size = (await fh.stat()).size;
      head = Buffer.alloc(Math.min(HEADER, size));
      await fh.read(head, 0, head.length, 0);
      if (size < HEADER + TAG || !head.subarray(0, MAGIC.length).equals(MAGIC)) {
        const clear = Buffer.alloc(Math.min(size, limit));
        const { bytesRead } = await fh.read(clear, 0, clear.length, 0);
        return clear.subarray(0, bytesRead);
      }
      tag = Buffer.alloc(TAG);
      await fh.read(tag, 0, TAG, size - TAG);
    } finally {
      await fh.close();
    }
    const id = head.readUInt32BE(MAGIC.length);
    await this.ensureKey(id);
    const key = this.keys.get(id);
    if (key === undefined)
      throw new PsirtError(
        'seal_key_unavailable',
        `the ${purpose} file is sealed with data key ${id}, whose team key is not configured or not unlocked`,
      );
    const decipher = createDecipheriv('aes-256-gcm', key, head.subarray(MAGIC.length + 4, HEADER));
    decipher.setAAD(Buffer.from(purpose, 'latin1'));
    decipher.setAuthTag(tag);
    const kept: Buffer[] = [];
    let keptBytes = 0;
    const keep = (plain: Buffer): void => {
      if (keptBytes >= limit) return;
      const part = plain.length > limit - keptBytes ? plain.subarray(0, limit - keptBytes) : plain;
      kept.push(part);
      keptBytes += part.length;
    };
    if (size - TAG - 1 >= HEADER) {
      for await (const chunk of createReadStream(path, { start: HEADER, end: size - TAG - 1 }))
        keep(decipher.update(chunk as Buffer));
    }
    try {
      keep(decipher.final());
    } catch (err) {
      throw new PsirtError('seal_corrupt', `the ${purpose} file does not open (tampered or damaged)`, {
        cause: err,
      });
    }
    return Buffer.concat(kept);
  }

  /**
   * A MAC over `data` with a key derived from the current data key for `purpose` (#15: the
   * dead-man probe header). Only a process holding the team key can make one; the data key id
   * travels with the tag so another process verifies it with the same key.
   */
  mac(data: string, purpose: MacPurpose): { keyId: number; tag: string } {
    if (this.current === null)
      throw new PsirtError('seal_no_key', 'this process holds no data key to sign with');
    return { keyId: this.current.id, tag: macTag(this.current.key, data, purpose) };
  }

  /** True when `tag` is `mac(data, purpose)` under data key `keyId` (constant-time compare). */
  verifyMac(keyId: number, data: string, tag: string, purpose: MacPurpose): boolean {
    const key = this.keys.get(keyId);
    if (key === undefined) return false;
    const want = Buffer.from(macTag(key, data, purpose), 'latin1');
    const got = Buffer.from(tag, 'latin1');
    return got.length === want.length && timingSafeEqual(got, want);
  }

  openText(sealed: Uint8Array, purpose: SealPurpose): string {
    return this.open(sealed, purpose).toString('utf8');
  }

  /**
   * Opens a value that may predate sealing: sealed bytes are opened, anything else is returned
   * as it is (a database written before #13 until `sealBacklog` has run).
   */
  async openOrClear(data: Uint8Array, purpose: SealPurpose): Promise<Buffer> {
    return isSealed(data)
      ? this.openFresh(data, purpose)
      : Buffer.from(data.buffer, data.byteOffset, data.length);
  }
}

/** A new random data key (not yet stored: its id is given once its wrapped row is written). */
export function newDataKey(): Buffer {
  return randomBytes(DATA_KEY_BYTES);
}
