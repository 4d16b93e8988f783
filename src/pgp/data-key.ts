import * as openpgp from 'openpgp';
import { describeError, PsirtError } from '../core/errors.js';
import { DATA_KEY_BYTES } from '../core/vault.js';
import type { TeamKey } from './keyring.js';

/** The data keys of src/core/vault.ts, wrapped to and unwrapped with the team key (#13). */

/**
 * Wraps a data key to the team key (its public part only): an armored OpenPGP message that only
 * the team key opens. Recorded as SEIPD v1 like everything else we write (libraries.md §3.5).
 */
export async function wrapDataKey(key: Buffer, team: TeamKey): Promise<string> {
  try {
    return await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: key }),
      encryptionKeys: team.key.toPublic(),
      format: 'armored',
      config: { aeadProtect: false },
    });
  } catch (err) {
    throw new PsirtError('seal_wrap_failed', `could not wrap a data key: ${describeError(err)}`, {
      cause: err,
    });
  }
}

/**
 * Unwraps a stored data key with whichever loaded team key it was wrapped to. Throws
 * `PsirtError('seal_unwrap_failed')` when none of `teamKeys` opens it.
 */
export async function unwrapDataKey(wrapped: string, teamKeys: readonly TeamKey[]): Promise<Buffer> {
  try {
    const message = await openpgp.readMessage({ armoredMessage: wrapped });
    const { data } = await openpgp.decrypt({
      message,
      decryptionKeys: teamKeys.map((k) => k.key),
      format: 'binary',
    });
    const key = Buffer.from(data);
    if (key.length !== DATA_KEY_BYTES)
      throw new Error(`a data key has ${DATA_KEY_BYTES} bytes, not ${key.length}`);
    return key;
  } catch (err) {
    throw new PsirtError(
      'seal_unwrap_failed',
      `no configured team key opens the data key (${describeError(err)})`,
      {
        cause: err,
      },
    );
  }
}
