import * as openpgp from 'openpgp';
import { describeError, PsirtError } from '../core/errors.js';
import type { TeamKey } from './keyring.js';
import type { PublicKeyCache } from './key-cache.js';

/**
 * Output settings every outgoing message uses. NB! Recipients run GnuPG 2.2, which cannot read
 * RFC 9580 SEIPDv2: never turn on `aeadProtect` (libraries.md §3.5).
 */
const OUTGOING: openpgp.PartialConfig = { aeadProtect: false };

export interface SignAndEncryptOptions {
  /** The team key that signs (the first configured team key). */
  signingKey: TeamKey;
  /**
   * Public keys to encrypt to, armored or already parsed. Exactly these: add the team's own
   * public key when a readable copy should stay with the team.
   */
  encryptionKeys: readonly (string | openpgp.PublicKey)[];
  /** Where armored keys are parsed (once each, #16); without it each is read again. */
  keyCache?: PublicKeyCache;
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
  for (const [i, given] of opts.encryptionKeys.entries()) {
    try {
      if (typeof given !== 'string') recipients.push(given);
      else if (opts.keyCache !== undefined) recipients.push(await opts.keyCache.get(given));
      else recipients.push((await openpgp.readKey({ armoredKey: given })).toPublic());
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
  return (await signDetached(data, signingKey, date)).armored;
}

/**
 * detachedSign, with the `micalg` of the signature (RFC 3156 §5) read from the signature it
 * made, before armoring: no second parse of its own output (#16).
 * Throws `PsirtError('pgp_sign_failed')` or `PsirtError('pgp_signature_invalid')`.
 */
export async function signDetached(
  data: Uint8Array,
  signingKey: TeamKey,
  date?: Date,
): Promise<{ armored: string; micalg: string }> {
  let signature: unknown;
  try {
    // Detached with format 'object' gives a Signature (openpgp's typings say Message).
    signature = await openpgp.sign({
      message: await openpgp.createMessage({ binary: data }),
      signingKeys: signingKey.key,
      detached: true,
      format: 'object',
      ...(date === undefined ? {} : { date }),
      config: OUTGOING,
    });
  } catch (err) {
    throw new PsirtError('pgp_sign_failed', `could not sign: ${describeError(err)}`, { cause: err });
  }
  if (!(signature instanceof openpgp.Signature))
    throw new PsirtError('pgp_sign_failed', 'openpgp returned no detached signature');
  // What format 'armored' returns: the same object armored with the same (full) configuration.
  return {
    armored: signature.armor({ ...openpgp.config, ...OUTGOING }),
    micalg: micalgOfSignature(signature),
  };
}

/**
 * The `micalg` parameter of multipart/signed for an armored signature (RFC 3156 §5), e.g.
 * `pgp-sha512`: openpgp picks the hash from the key's preferences, so read it back.
 */
export async function micalgOf(armoredSignature: string): Promise<string> {
  return micalgOfSignature(await openpgp.readSignature({ armoredSignature }));
}

function micalgOfSignature(sig: openpgp.Signature): string {
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
