import type { Db } from '../7-cases/db.js';
import {
  insertSealKey,
  loadSealKeys,
  newestSealKeyFor,
  rewrapSealKey,
  type SealKeyRow,
} from '../7-cases/seal-key-store.js';
import type { Clock } from '../core/clock.js';
import { describeError, PsirtError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { newDataKey, Vault, type DataKey } from '../core/vault.js';
import { unwrapDataKey, wrapDataKey } from '../pgp/data-key.js';
import type { TeamKey } from '../pgp/keyring.js';

/** What `openVault` found: the vault, and the data keys no loaded team key opens (doctor). */
export interface OpenedVault {
  vault: Vault;
  /** Data key ids whose team key is not configured (or not unlocked): their records stay shut. */
  unreadable: { id: number; fingerprints: string[] }[];
}

/** Unwraps one stored data key with the loaded team key(s) it names; null when none is loaded. */
async function unwrapRow(
  row: SealKeyRow,
  teamKeys: readonly TeamKey[],
  log?: Logger,
): Promise<Buffer | null> {
  const holders = teamKeys.filter((k) => row.fingerprints.includes(k.fingerprint));
  if (holders.length === 0) return null;
  try {
    return await unwrapDataKey(row.wrapped, holders, teamKeys);
  } catch (err) {
    log?.warn(
      { event: 'seal.unwrap-failed', keyId: row.id, err: describeError(err) },
      'a data key does not open',
    );
    return null;
  }
}

/**
 * The vault of a process holding the unlocked team keys (#13): every stored data key that a
 * loaded team key opens, and — when `seal` is set (the service roles) — a current data key to
 * seal with: the newest one wrapped to the signing team key (`teamKeys[0]`), or a new one
 * wrapped to it when there is none (first start, or after the team key was rotated). Records
 * sealed under a retired team key stay readable while that key is configured in `pgp.keys`.
 * A data key created later by another process is fetched when a record names it (`openFresh`).
 */
export async function openVault(
  db: Db,
  clock: Clock,
  teamKeys: readonly TeamKey[],
  opts: { seal: boolean; log?: Logger },
): Promise<OpenedVault> {
  const readable: DataKey[] = [];
  const unreadable: OpenedVault['unreadable'] = [];
  for (const row of loadSealKeys(db)) {
    const key = await unwrapRow(row, teamKeys, opts.log);
    if (key === null) unreadable.push({ id: row.id, fingerprints: row.fingerprints });
    else readable.push({ id: row.id, key });
  }
  let current: DataKey | null = null;
  const signing = teamKeys[0];
  if (opts.seal && signing !== undefined) {
    const reuse = newestSealKeyFor(db, signing.fingerprint);
    current = readable.find((k) => k.id === reuse?.id) ?? null;
    if (current === null) {
      const key = newDataKey();
      const stored = insertSealKey(db, clock, signing.fingerprint, await wrapDataKey(key, signing));
      if (stored.ours) {
        current = { id: stored.id, key };
        opts.log?.info(
          { event: 'seal.data-key-created', keyId: stored.id, teamKey: signing.fingerprint },
          'new data key for sealing records at rest',
        );
      } else {
        const row = loadSealKeys(db).find((r) => r.id === stored.id);
        const theirs = row === undefined ? null : await unwrapRow(row, teamKeys, opts.log);
        if (theirs === null) throw new Error(`data key ${stored.id} of the signing team key does not open`);
        current = { id: stored.id, key: theirs };
        readable.push(current);
      }
    }
  }
  const loader = async (id: number): Promise<Buffer | null> => {
    const row = loadSealKeys(db).find((r) => r.id === id);
    return row === undefined ? null : unwrapRow(row, teamKeys, opts.log);
  };
  return { vault: new Vault(current, readable, loader), unreadable };
}

/** What `rewrapDataKeys` did, per data key (ids and fingerprints only). */
export interface RewrapResult {
  /** Re-wrapped to the signing key (they were wrapped to other configured keys). */
  rewrapped: { id: number; from: string[] }[];
  /** Wrapped to the signing key alone already: nothing to do. */
  current: number[];
  /** No configured key opens them: left as they are (their records stay shut). */
  unreadable: { id: number; fingerprints: string[] }[];
}

/**
 * `psirt rewrap` (#13, key rotation): every data key a configured team key opens is wrapped
 * again to the signing key (`teamKeys[0]`) alone, so a retired key can then be removed from
 * `pgp.keys` without shutting any record. The data keys themselves, and so every sealed record,
 * stay as they are. Idempotent: a key wrapped to the signing key alone is left alone. Each
 * re-wrap is its own small write: a run stopped half-way is safe and goes on next time.
 */
export async function rewrapDataKeys(
  db: Db,
  teamKeys: readonly TeamKey[],
  onKey?: (id: number, outcome: 'rewrapped' | 'current' | 'unreadable') => void,
): Promise<RewrapResult> {
  const signing = teamKeys[0];
  if (signing === undefined) throw new PsirtError('seal_no_team_key', 'pgp.keys: no team key configured');
  const result: RewrapResult = { rewrapped: [], current: [], unreadable: [] };
  for (const row of loadSealKeys(db)) {
    if (row.fingerprints.length === 1 && row.fingerprints[0] === signing.fingerprint) {
      result.current.push(row.id);
      onKey?.(row.id, 'current');
      continue;
    }
    const holders = teamKeys.filter((k) => row.fingerprints.includes(k.fingerprint));
    let key: Buffer;
    try {
      if (holders.length === 0) throw new PsirtError('seal_unwrap_failed', 'no configured key');
      key = await unwrapDataKey(row.wrapped, holders, teamKeys);
    } catch {
      // Not an error of this run: doctor reports these records as sealed to a missing key.
      result.unreadable.push({ id: row.id, fingerprints: row.fingerprints });
      onKey?.(row.id, 'unreadable');
      continue;
    }
    const wrapped = await wrapDataKey(key, signing);
    key.fill(0);
    db.transaction(() => {
      rewrapSealKey(db, row.id, [signing.fingerprint], wrapped);
    }).immediate();
    result.rewrapped.push({ id: row.id, from: row.fingerprints });
    onKey?.(row.id, 'rewrapped');
  }
  return result;
}
