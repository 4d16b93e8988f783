import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import type { TeamKey } from '../pgp/keyring.js';

/** What decodeMessage needs besides the raw bytes: keys, the zip-bomb ceiling and the time. */
export interface DecodeDeps {
  /** Every configured team key; each may decrypt (rotation). */
  teamKeys: readonly TeamKey[];
  /** Armored public keys we already hold for the sender (pinned reporter key, or a staff key). */
  senderKeys: readonly string[];
  /** Ceiling for decrypted (decompressed) data per OpenPGP message: a zip-bomb guard. */
  maxDecompressedBytes: number;
  /** The time signatures and keys are judged at. */
  now: Date;
}

/**
 * The one place decode options are built (intake pipeline, mailer, fuzzer): the ceiling from
 * `pgp.max_decompressed_bytes`, the time from the clock, read now.
 */
export function decodeOptions(
  config: { pgp: Pick<Config['pgp'], 'max_decompressed_bytes'> },
  teamKeys: readonly TeamKey[],
  clock: Clock,
  senderKeys: readonly string[] = [],
): DecodeDeps {
  return {
    teamKeys,
    senderKeys,
    maxDecompressedBytes: config.pgp.max_decompressed_bytes,
    now: clock.now(),
  };
}
