import * as openpgp from 'openpgp';
import { safeReason } from './safe-reason.js';

/** A public key with what decode and the mailer need to know about it. */
export interface PublicKeyRecord {
  /** Uppercase hex fingerprint of the primary key. */
  readonly fingerprint: string;
  /** The armored public key. Never secret key material. */
  readonly armored: string;
  /** User ID e-mail addresses, lower-cased, without duplicates, in key order. */
  readonly addresses: readonly string[];
  /** The parsed key, for signature checks. */
  readonly key: openpgp.PublicKey;
}

/** What a key attachment (or header, or stored key) turned out to hold. */
export type KeyBlock =
  | { kind: 'public'; keys: PublicKeyRecord[] }
  /** Secret key material: the caller drops it and records a problem; nothing of it is returned. */
  | { kind: 'secret' }
  /** Not a readable OpenPGP key; `reason` is openpgp's message, never key bytes. */
  | { kind: 'unreadable'; reason: string };

/** Keys larger than this are refused: real public keys are a few KiB, this is a resource guard. */
export const MAX_KEY_BLOCK_BYTES = 1 << 20;

/**
 * Every `-----BEGIN PGP PUBLIC|PRIVATE KEY BLOCK-----` … matching END block in the text, in order.
 * NB! indexOf, not a lazy pattern (DESIGN.md invariant 8): thousands of BEGIN lines without an
 * END made the pattern this replaced rescan the rest of the text for each. A kind whose END is
 * missing is not searched for again.
 */
function armoredKeyBlocks(text: string): string[] {
  const out: string[] = [];
  const endless = new Set<string>();
  let pos = 0;
  for (;;) {
    const at = text.indexOf('-----BEGIN PGP ', pos);
    if (at === -1) break;
    pos = at + 1;
    const kind = ['PUBLIC', 'PRIVATE'].find((k) => text.startsWith(`${k} KEY BLOCK-----`, at + 15));
    if (kind === undefined || endless.has(kind)) continue;
    const endLine = `-----END PGP ${kind} KEY BLOCK-----`;
    const end = text.indexOf(endLine, at + 15 + kind.length + 15);
    if (end === -1) {
      endless.add(kind);
      continue;
    }
    out.push(text.slice(at, end + endLine.length));
    pos = end + endLine.length;
  }
  return out;
}

/**
 * Reads one or more OpenPGP keys, armored (possibly several blocks in one text) or binary.
 * Any secret key material makes the whole blob `secret`, so a reporter's accidentally attached
 * secret key is never stored, not even its public half.
 */
export async function readKeyBlock(data: string | Uint8Array): Promise<KeyBlock> {
  const size = typeof data === 'string' ? Buffer.byteLength(data, 'latin1') : data.length;
  if (size > MAX_KEY_BLOCK_BYTES) return { kind: 'unreadable', reason: 'key block larger than 1 MiB' };
  const text = asArmoredText(data);
  if (text?.includes('-----BEGIN PGP PRIVATE KEY BLOCK-----') === true) return { kind: 'secret' };
  let keys: openpgp.Key[];
  try {
    keys = await readKeys(data, text);
  } catch (err) {
    return { kind: 'unreadable', reason: safeReason(err) };
  }
  if (keys.some((k) => k.isPrivate())) return { kind: 'secret' };
  if (keys.length === 0) return { kind: 'unreadable', reason: 'no key found' };
  return { kind: 'public', keys: keys.map(toRecord) };
}

/**
 * Reads armored public keys we hold already (a pinned reporter key, a staff key). Unreadable
 * entries are reported by index so the caller can name them without echoing the key.
 */
export async function readPublicKeys(
  armored: readonly string[],
): Promise<{ keys: PublicKeyRecord[]; unreadable: number[] }> {
  const keys: PublicKeyRecord[] = [];
  const unreadable: number[] = [];
  for (const [i, text] of armored.entries()) {
    const block = await readKeyBlock(text);
    if (block.kind === 'public') keys.push(...block.keys);
    else unreadable.push(i);
  }
  return { keys, unreadable };
}

async function readKeys(data: string | Uint8Array, text: string | null): Promise<openpgp.Key[]> {
  if (text === null) {
    if (typeof data === 'string') throw new Error('not an OpenPGP key');
    return openpgp.readKeys({ binaryKeys: data });
  }
  const blocks = armoredKeyBlocks(text);
  if (blocks.length === 0) throw new Error('no armored key block found');
  const out: openpgp.Key[] = [];
  for (const block of blocks) out.push(...(await openpgp.readKeys({ armoredKeys: block })));
  return out;
}

/** The blob as text when it is armored (a string always is), null when it is binary. */
function asArmoredText(data: string | Uint8Array): string | null {
  if (typeof data === 'string') return data;
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return view.subarray(0, 4096).toString('latin1').includes('-----BEGIN PGP ')
    ? view.toString('latin1')
    : null;
}

function toRecord(key: openpgp.PublicKey): PublicKeyRecord {
  const addresses: string[] = [];
  for (const user of key.users) {
    const email = user.userID?.email.trim().toLowerCase() ?? '';
    if (email !== '' && !addresses.includes(email)) addresses.push(email);
  }
  return { fingerprint: key.getFingerprint().toUpperCase(), armored: key.armor(), addresses, key };
}
