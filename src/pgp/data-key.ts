import * as openpgp from 'openpgp';
import { describeError, PsirtError } from '../core/errors.js';
import { DATA_KEY_BYTES } from '../core/vault.js';
import type { TeamKey } from './keyring.js';

/** The data keys of src/core/vault.ts, wrapped to and unwrapped with the team key (#13). */

/**
 * Wraps a data key to the team key: an armored OpenPGP message that only the team key opens,
 * signed by it — anyone holding the public key could wrap a key of their own, and a planted row
 * in a copied database must not become the key new reports are sealed with (review of #13).
 * Recorded as SEIPD v1 like everything else we write (libraries.md §3.5).
 */
export async function wrapDataKey(key: Buffer, team: TeamKey): Promise<string> {
  try {
    return await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: key }),
      encryptionKeys: team.key.toPublic(),
      signingKeys: team.key,
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
 * Unwraps a stored data key with whichever loaded team key it was wrapped to, and only when a
 * configured team key signed it. Throws `PsirtError('seal_unwrap_failed')` when none of
 * `teamKeys` opens it or the signature is missing or not the team's.
 */
export async function unwrapDataKey(
  wrapped: string,
  teamKeys: readonly TeamKey[],
  signers: readonly TeamKey[] = teamKeys,
): Promise<Buffer> {
  const verifiers = signers.map((k) => k.key.toPublic());
  try {
    const message = await openpgp.readMessage({ armoredMessage: wrapped });
    const { data } = await openpgp.decrypt({
      message,
      decryptionKeys: teamKeys.map((k) => k.key),
      verificationKeys: verifiers,
      expectSigned: true,
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
