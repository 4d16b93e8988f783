import * as openpgp from 'openpgp';
import type { TeamKey } from './keyring.js';

/**
 * Signing and encryption of outgoing mail with the team key (injected into src/outbox as its
 * `Sealer`). Output is what GnuPG 2.2 reads: SEIPD v1, no AEAD (libraries.md §3.5).
 */
export interface TeamSealer {
  sign(data: Uint8Array): Promise<{ armored: string; micalg: string }>;
  encrypt(data: Uint8Array, recipientKeys: readonly string[]): Promise<string>;
}

export function createSealer(team: TeamKey): TeamSealer {
  const teamPublic = team.key.toPublic();
  return {
    async sign(data) {
      const message = await openpgp.createMessage({ binary: data });
      const armored = await openpgp.sign({
        message,
        signingKeys: team.key,
        detached: true,
        format: 'armored',
      });
      const sig = await openpgp.readSignature({ armoredSignature: armored });
      const packet = sig.packets[0];
      const hash = packet
        ? openpgp.enums.read(openpgp.enums.hash, packet.hashAlgorithm ?? openpgp.enums.hash.sha256)
        : 'sha256';
      return { armored, micalg: `pgp-${hash.toLowerCase()}` };
    },
    async encrypt(data, recipientKeys) {
      const keys = await Promise.all(recipientKeys.map((armoredKey) => openpgp.readKey({ armoredKey })));
      const message = await openpgp.createMessage({ binary: data });
      return openpgp.encrypt({
        message,
        encryptionKeys: [...keys, teamPublic],
        signingKeys: team.key,
        format: 'armored',
      });
    },
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
