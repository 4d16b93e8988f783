import { readFile } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import type { Config } from '../config/schema.js';
import { fail, pass, warn, type CheckResult } from '../core/check.js';
import { PsirtError, describeError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import { unlockInWorker } from './unlock.js';

export type PgpConfig = Config['pgp'];

export interface TeamKey {
  /** Uppercase hex fingerprint of the primary key. */
  fingerprint: string;
  /** The unlocked secret key. Never logged, never serialised. */
  key: openpgp.PrivateKey;
  userIds: string[];
  expires: Date | null;
}

/**
 * Loads and unlocks every configured team key. The first key signs; all decrypt.
 * Throws `PsirtError('team_key')` naming the config key (`pgp.keys[N]`) and the cause.
 */
export async function loadTeamKeys(cfg: PgpConfig, clock: Clock): Promise<TeamKey[]> {
  const out: TeamKey[] = [];
  for (const [i, entry] of cfg.keys.entries()) out.push(await loadTeamKey(entry, `pgp.keys[${i}]`, clock));
  return out;
}

async function loadTeamKey(entry: PgpConfig['keys'][number], where: string, clock: Clock): Promise<TeamKey> {
  const problem = (code: string, why: string, cause?: unknown): PsirtError =>
    new PsirtError(code, `${where}: ${why}`, cause === undefined ? undefined : { cause });
  let armored: string;
  try {
    armored = await readFile(entry.file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw problem(
      'team_key_unreadable',
      code === 'ENOENT'
        ? `key file ${entry.file} not found`
        : `cannot read ${entry.file} (${code ?? 'error'})`,
      err,
    );
  }
  let key: openpgp.PrivateKey;
  try {
    key = await openpgp.readPrivateKey({ armoredKey: armored });
  } catch (err) {
    throw problem(
      'team_key_invalid',
      `${entry.file} holds no OpenPGP secret key (${describeError(err)})`,
      err,
    );
  }
  if (!key.isDecrypted()) {
    if (!entry.passphrase)
      throw problem('team_key_locked', 'the key is passphrase-protected but no passphrase is configured');
    try {
      // In a worker thread: the S2K's memory goes with it (src/pgp/unlock.ts, #16).
      key = await openpgp.readPrivateKey({ armoredKey: await unlockInWorker(armored, entry.passphrase) });
    } catch (err) {
      throw problem('team_key_passphrase', 'the passphrase does not unlock the key', err);
    }
  }
  const now = clock.now();
  const expiry = await key.getExpirationTime();
  const expires = expiry instanceof Date ? expiry : null;
  if (expires && expires.getTime() <= now.getTime()) {
    throw problem(
      'team_key_expired',
      `the key ${key.getFingerprint().toUpperCase()} expired on ${expires.toISOString().slice(0, 10)}`,
    );
  }
  try {
    await key.getEncryptionKey(undefined, now);
    await key.getSigningKey(undefined, now);
  } catch (err) {
    throw problem(
      'team_key_unusable',
      `the key cannot both sign and decrypt now (${describeError(err)})`,
      err,
    );
  }
  return { fingerprint: key.getFingerprint().toUpperCase(), key, userIds: key.getUserIDs(), expires };
}

/**
 * A team key from its unlocked armored form (`TeamKey.key.armor()`), as a compose thread gets it
 * from the service that unlocked it (#16); the checks were made there.
 */
export async function unlockedTeamKey(armored: string): Promise<TeamKey> {
  const key = await openpgp.readPrivateKey({ armoredKey: armored });
  if (!key.isDecrypted()) throw new PsirtError('team_key_locked', 'the team key given to a thread is locked');
  const expiry = await key.getExpirationTime();
  return {
    fingerprint: key.getFingerprint().toUpperCase(),
    key,
    userIds: key.getUserIDs(),
    expires: expiry instanceof Date ? expiry : null,
  };
}

/**
 * How doctor words a key's expiry (`text`, e.g. "expires 2036-11-21 (in 3642 days)") and, when it
 * is near, what to do (`warning`); injected by the caller, who knows the watch and the calendar.
 */
export type ExpiryNote = (expires: Date) => { text: string; warning: string | null };

const plainExpiry: ExpiryNote = (expires) => ({
  text: `expires ${expires.toISOString().slice(0, 10)}`,
  warning: null,
});

/**
 * One doctor line per configured key: a warning when `note` says its expiry is near (every
 * key, not only the signing one: the service refuses to start once any of them expired).
 */
export async function checkTeamKeys(
  cfg: PgpConfig,
  clock: Clock,
  note: ExpiryNote = plainExpiry,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const [i, entry] of cfg.keys.entries()) {
    const name = `pgp key ${i}`;
    try {
      const k = await loadTeamKey(entry, `pgp.keys[${i}]`, clock);
      const expiry = k.expires === null ? null : { at: k.expires, ...note(k.expires) };
      const until = expiry === null ? ', never expires' : `, ${expiry.text}`;
      const detail = `${k.fingerprint} (${k.userIds[0] ?? 'no user id'}) unlocked${until}${i === 0 ? ', signs outgoing mail' : ''}`;
      results.push(
        expiry?.warning
          ? warn(name, `${detail}: renew before ${expiry.at.toISOString().slice(0, 10)}`, expiry.warning)
          : pass(name, detail),
      );
    } catch (err) {
      results.push(
        fail(
          name,
          describeError(err),
          `check pgp.keys[${i}].file and its passphrase (PSIRT_PGP__KEYS__${i}__PASSPHRASE or PSIRT_PGP__KEYS__${i}__PASSPHRASE_FILE)`,
        ),
      );
    }
  }
  return results;
}

/**
 * The fingerprint of each configured team key (uppercase), read without unlocking it — null for a
 * file that cannot be read or holds no key (its doctor line says why). For counting what each key
 * seals when the passphrase is not at hand.
 */
export async function teamKeyFingerprints(cfg: PgpConfig): Promise<(string | null)[]> {
  return Promise.all(
    cfg.keys.map(async (entry) => {
      try {
        const key = await openpgp.readKey({ armoredKey: await readFile(entry.file, 'utf8') });
        return key.getFingerprint().toUpperCase();
      } catch {
        // Reported by checkTeamKeys (unreadable file, no key), with the fix.
        return null;
      }
    }),
  );
}
