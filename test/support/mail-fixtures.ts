import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fixedClock } from '../../src/core/clock.js';
import { decodeOptions, type DecodeDeps } from '../../src/3-unwrap/options.js';
import { loadTeamKeys, type TeamKey } from '../../src/pgp/keyring.js';

/**
 * Fixtures for the decode and pgp unit tests: the .eml files made by make-mail-fixtures.sh and
 * the TEST ONLY keys made by make-keys.sh.
 */
const MAIL = fileURLToPath(new URL('../fixtures/mail/', import.meta.url));
export const KEYS_DIR = fileURLToPath(new URL('../fixtures/keys/', import.meta.url));

export const TEAM_PASSPHRASE = 'test-only-team-passphrase';

/** After every fixture signature (2026-11-25T09:00Z) and inside every key's validity. */
export const NOW = new Date('2026-12-01T12:00:00Z');
/** When make-mail-fixtures.sh froze gpg's clock: the creation time of every fixture signature. */
export const SIGNED_AT = '2026-11-25T09:00:00.000Z';

export type KeyName =
  'team' | 'alice' | 'bob' | 'carol' | 'reporter1' | 'reporter2' | 'reporter3' | 'expired';

/** Fingerprints from test/fixtures/keys/FINGERPRINTS. */
export const FINGERPRINTS: Readonly<Record<KeyName, string>> = Object.fromEntries(
  readFileSync(`${KEYS_DIR}FINGERPRINTS`, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' ') as [string, string]),
) as Record<KeyName, string>;

export function readMail(name: string): Buffer {
  return readFileSync(`${MAIL}${name}`);
}

export function publicKey(name: KeyName): string {
  return readFileSync(`${KEYS_DIR}${name}.pub.asc`, 'utf8');
}

const teamKeyCache = new Map<KeyName, Promise<TeamKey>>();

/** A key loaded the way the service loads team keys (unlocked). Any key can play a team key. */
export function teamKey(name: KeyName = 'team'): Promise<TeamKey> {
  let key = teamKeyCache.get(name);
  if (key === undefined) {
    const entry = {
      file: `${KEYS_DIR}${name}.sec.asc`,
      ...(name === 'team' ? { passphrase: TEAM_PASSPHRASE } : {}),
    };
    key = loadTeamKeys({ keys: [entry], max_decompressed_bytes: 1 << 20 }, fixedClock(NOW)).then(([k]) => k!);
    teamKeyCache.set(name, key);
  }
  return key;
}

/** Decode dependencies with the team key, no known sender keys, a 10 MiB cap and a fixed clock. */
export async function decodeDeps(overrides: Partial<DecodeDeps> = {}): Promise<DecodeDeps> {
  return {
    ...decodeOptions({ pgp: { max_decompressed_bytes: 10 << 20 } }, [await teamKey()], fixedClock(NOW)),
    ...overrides,
  };
}

/**
 * A PGP/MIME message (RFC 3156 §4) around `plaintext`, encrypted with openpgp to the team key,
 * for cases the gpg-made fixtures do not cover.
 */
export async function buildPgpMime(plaintext: string, subject = 'Encrypted'): Promise<Buffer> {
  const openpgp = await import('openpgp');
  const team = await teamKey();
  const armored = await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: Buffer.from(plaintext.replace(/\r?\n/g, '\r\n')) }),
    encryptionKeys: team.key.toPublic(),
  });
  return Buffer.from(
    [
      'From: reporter1@psirt.test',
      `Subject: ${subject}`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="e"',
      '',
      '--e',
      'Content-Type: application/pgp-encrypted',
      '',
      'Version: 1',
      '--e',
      'Content-Type: application/octet-stream',
      '',
      armored.replace(/\r?\n/g, '\r\n'),
      '--e--',
      '',
    ].join('\r\n'),
  );
}
