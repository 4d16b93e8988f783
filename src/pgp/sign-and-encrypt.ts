import * as openpgp from 'openpgp';
import { describeError, PsirtError } from '../core/errors.js';
import type { TeamKey } from './keyring.js';

/**
 * Output settings every outgoing message uses. NB! Recipients run GnuPG 2.2, which cannot read
 * RFC 9580 SEIPDv2: never turn on `aeadProtect` (libraries.md §3.5).
 */
const OUTGOING: openpgp.PartialConfig = { aeadProtect: false };

export interface SignAndEncryptOptions {
  /** The team key that signs (the first configured team key). */
  signingKey: TeamKey;
  /**
   * Armored public keys to encrypt to. Exactly these: add the team's own public key when a
   * readable copy should stay with the team.
   */
  encryptionKeys: readonly string[];
  /** Signature time; defaults to now. */
  date?: Date;
}

/**
 * Signs `data` with the team key and encrypts it to `encryptionKeys` in one OpenPGP message
 * (RFC 3156 §6.2 combined form), armored, as SEIPD v1 which GnuPG 2.2 reads.
 * Throws `PsirtError` `pgp_no_recipients`, `pgp_recipient_key_invalid` (naming the index, never
 * the key) or `pgp_encrypt_failed`.
 */
export async function signAndEncrypt(data: Uint8Array, opts: SignAndEncryptOptions): Promise<string> {
  if (opts.encryptionKeys.length === 0)
    throw new PsirtError('pgp_no_recipients', 'signAndEncrypt needs at least one encryption key');
  const recipients: openpgp.PublicKey[] = [];
  for (const [i, armoredKey] of opts.encryptionKeys.entries()) {
    try {
      const key = await openpgp.readKey({ armoredKey });
      recipients.push(key.toPublic());
    } catch (err) {
      throw new PsirtError('pgp_recipient_key_invalid', `encryption key ${i} is not a readable OpenPGP key`, {
        cause: err,
      });
    }
  }
  try {
    return await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: data }),
      encryptionKeys: recipients,
      signingKeys: opts.signingKey.key,
      format: 'armored',
      ...(opts.date === undefined ? {} : { date: opts.date }),
      config: OUTGOING,
    });
  } catch (err) {
    throw new PsirtError('pgp_encrypt_failed', `could not sign and encrypt: ${describeError(err)}`, {
      cause: err,
    });
  }
}

/**
 * A detached, armored signature by the team key over `data` exactly as given (for
 * multipart/signed pass the canonical CRLF bytes of the signed part, RFC 3156 §5).
 * Throws `PsirtError('pgp_sign_failed')`.
 */
export async function detachedSign(data: Uint8Array, signingKey: TeamKey, date?: Date): Promise<string> {
  try {
    return await openpgp.sign({
      message: await openpgp.createMessage({ binary: data }),
      signingKeys: signingKey.key,
      detached: true,
      format: 'armored',
      ...(date === undefined ? {} : { date }),
      config: OUTGOING,
    });
  } catch (err) {
    throw new PsirtError('pgp_sign_failed', `could not sign: ${describeError(err)}`, { cause: err });
  }
}

/**
 * The `micalg` parameter of multipart/signed for an armored signature (RFC 3156 §5), e.g.
 * `pgp-sha512`: openpgp picks the hash from the key's preferences, so read it back.
 */
export async function micalgOf(armoredSignature: string): Promise<string> {
  const sig = await openpgp.readSignature({ armoredSignature });
  const algo = sig.packets[0]?.hashAlgorithm;
  if (algo === undefined || algo === null)
    throw new PsirtError('pgp_signature_invalid', 'signature has no hash');
  return `pgp-${openpgp.enums.read(openpgp.enums.hash, algo).toLowerCase()}`;
}

/**
 * An OpenPGP cleartext-signed text by the team key (RFC 9580 §7; RFC 9116 §2.3 allows it for
 * security.txt). Lines are signed as text (trailing whitespace is not part of the signature, as
 * the cleartext framework defines). Throws `PsirtError('pgp_sign_failed')`.
 */
export async function cleartextSign(text: string, signingKey: TeamKey, date?: Date): Promise<string> {
  try {
    return await openpgp.sign({
      message: await openpgp.createCleartextMessage({ text }),
      signingKeys: signingKey.key,
      ...(date === undefined ? {} : { date }),
      config: OUTGOING,
    });
  } catch (err) {
    throw new PsirtError('pgp_sign_failed', `could not sign: ${describeError(err)}`, { cause: err });
  }
}
