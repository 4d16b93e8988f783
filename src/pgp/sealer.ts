import * as openpgp from 'openpgp';
import type { TeamKey } from './keyring.js';
import { PublicKeyCache } from './key-cache.js';
import { signAndEncrypt, signDetached } from './sign-and-encrypt.js';

/**
 * Signing and encryption of outgoing mail with the team key (injected into src/8-outbox as its
 * `Sealer`). Output is what GnuPG 2.2 reads: SEIPD v1, no AEAD (libraries.md §3.5).
 */
export interface TeamSealer {
  sign(data: Uint8Array): Promise<{ armored: string; micalg: string }>;
  encrypt(data: Uint8Array, recipientKeys: readonly string[]): Promise<string>;
}

/**
 * The sealer of one team key. Keys are parsed once (#16): the team's public key here, each
 * recipient's in `keys` (the 256 most recently used by default), so openpgp verifies a key's
 * binding signatures once, not on every mail.
 */
export function createSealer(team: TeamKey, options: { keys?: PublicKeyCache } = {}): TeamSealer {
  // A readable copy stays with the team: every encrypted mail is also encrypted to the team key.
  const teamPublic = team.key.toPublic();
  const keyCache = options.keys ?? new PublicKeyCache(256);
  return {
    sign: (data) => signDetached(data, team),
    encrypt: (data, recipientKeys) =>
      signAndEncrypt(data, {
        signingKey: team,
        encryptionKeys: [...recipientKeys, teamPublic],
        keyCache,
      }),
  };
}

/**
 * Reads a staff member's public key and checks it is the configured fingerprint, so a swapped
 * key file cannot redirect notifications. Throws naming the config key.
 */
export async function readStaffKey(
  file: string,
  armored: string,
  fingerprint: string,
  where: string,
): Promise<string> {
  let key: openpgp.Key;
  try {
    key = await openpgp.readKey({ armoredKey: armored });
  } catch (err) {
    throw new Error(`${where}.key_file: ${file} holds no OpenPGP public key`, { cause: err });
  }
  const actual = key.getFingerprint().toUpperCase();
  if (actual !== fingerprint.toUpperCase()) {
    throw new Error(
      `${where}.key_file: ${file} is key ${actual}, not the configured fingerprint ${fingerprint}`,
    );
  }
  return key.toPublic().armor();
}
