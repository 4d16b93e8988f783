import { createHash } from 'node:crypto';
import * as openpgp from 'openpgp';
import type { TeamKey } from './keyring.js';
import { readPublicKeys, type PublicKeyRecord } from './read-keys.js';
import { safeReason } from './safe-reason.js';

/** One signature's result from openpgp (its d.ts does not export the interface). */
export type VerificationResult = Awaited<ReturnType<typeof openpgp.verify>>['signatures'][number];

/** The outcome of checking the signatures on one piece of signed data. */
export type SignatureCheck =
  | { state: 'none' }
  | {
      state: 'valid';
      fingerprint: string;
      keyId: string;
      createdAt: Date | null;
      /** Hex SHA-256 of the signature packet: the same signature seen twice is a replay. */
      digest: string;
    }
  | { state: 'unknown-key'; keyId: string }
  | { state: 'invalid'; keyId: string | null; reason: string };

/**
 * Signatures read from a message and checked later, once every key the mail carries has been
 * found (a reporter's key may sit in an attachment next to, or inside, what it signed).
 */
export interface PendingSignatures {
  /** Key IDs (16 uppercase hex digits) of the signers, as the signatures name them. */
  readonly signerKeyIds: readonly string[];
  /** Verifies against `keys` as of `date`. Never rejects: failures are `invalid`/`unknown-key`. */
  check(keys: readonly PublicKeyRecord[], date: Date): Promise<SignatureCheck>;
}

/** A result for data that carried no signature at all. */
export const UNSIGNED: PendingSignatures = {
  signerKeyIds: [],
  check: () => Promise.resolve({ state: 'none' }),
};

/**
 * Prepares a detached signature over `data` (RFC 3156 §5: the canonical CRLF bytes of the first
 * part of multipart/signed). Returns `invalid` at once when the signature cannot be read.
 */
export async function readDetachedSignature(
  data: Uint8Array,
  signature: string | Uint8Array,
): Promise<PendingSignatures | SignatureCheck> {
  let sig: openpgp.Signature;
  try {
    sig =
      typeof signature === 'string'
        ? await openpgp.readSignature({ armoredSignature: signature })
        : await openpgp.readSignature({ binarySignature: signature });
  } catch (err) {
    return { state: 'invalid', keyId: null, reason: `unreadable signature: ${safeReason(err)}` };
  }
  return signaturesOver(data, [sig]);
}

/**
 * Checks a detached signature over `data` against the team's own keys as of `date`: what the
 * team signed itself (the evidence manifest, `psirt verify --archive`). Only the public halves
 * take part; nothing of the secret keys leaves this folder.
 */
export async function checkTeamSignature(
  data: Uint8Array,
  signature: string | Uint8Array,
  teamKeys: readonly TeamKey[],
  date: Date,
): Promise<SignatureCheck> {
  const read = await readDetachedSignature(data, signature);
  if (!('check' in read)) return read;
  const { keys } = await readPublicKeys(teamKeys.map((k) => k.key.toPublic().armor()));
  return read.check(keys, date);
}

/**
 * Signatures over `data` that were taken out of a signed OpenPGP message; each is re-checked as
 * a detached signature over the literal data, which is what the signature covers.
 */
export function signaturesOver(
  data: Uint8Array,
  signatures: readonly openpgp.Signature[],
): PendingSignatures {
  if (signatures.length === 0) return UNSIGNED;
  const named = signatures.map((s) => keyIdsOf(s.getSigningKeyIDs()));
  const signerKeyIds = named.flat();
  // A damaged packet (unknown version, no issuer) names no signing key: openpgp cannot check it,
  // and the mail still gets a signature verdict rather than an exception (#10).
  if (named.some((ids) => ids.length === 0)) return damaged(signerKeyIds);
  return {
    signerKeyIds,
    async check(keys, date) {
      try {
        const results: VerificationResult[] = [];
        for (const signature of signatures) {
          const message = await openpgp.createMessage({ binary: data });
          const out = await openpgp.verify({
            message,
            signature,
            verificationKeys: keys.map((k) => k.key),
            date,
            format: 'binary',
          });
          results.push(...out.signatures);
        }
        return await summarise(results, keys);
      } catch (err) {
        return { state: 'invalid', keyId: signerKeyIds[0] ?? null, reason: safeReason(err) };
      }
    },
  };
}

/** The reason given for a signature packet that names no signing key. */
export const DAMAGED_SIGNATURE = 'unreadable signature: the packet is damaged and names no signing key';

/** Signatures that are there but cannot be checked: always `invalid` (never "unsigned"). */
function damaged(signerKeyIds: readonly string[]): PendingSignatures {
  const verdict: SignatureCheck = {
    state: 'invalid',
    keyId: signerKeyIds[0] ?? null,
    reason: DAMAGED_SIGNATURE,
  };
  return { signerKeyIds, check: () => Promise.resolve(verdict) };
}

/**
 * Reads a clear-signed text (`-----BEGIN PGP SIGNED MESSAGE-----`, RFC 9580 §7). Returns the
 * signed text (dash-escaping removed) and its pending signatures, or null when it is not a
 * readable clear-signed message.
 */
export async function readCleartext(
  armored: string,
): Promise<{ text: string; signatures: PendingSignatures } | { error: string }> {
  let message: openpgp.CleartextMessage;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: armored });
  } catch (err) {
    return { error: safeReason(err) };
  }
  const named = message.getSigningKeyIDs().map((id) => keyIdsOf([id]));
  const signerKeyIds = named.flat();
  if (named.length === 0 || named.some((ids) => ids.length === 0))
    return { text: message.getText(), signatures: damaged(signerKeyIds) };
  return {
    text: message.getText(),
    signatures: {
      signerKeyIds,
      async check(keys, date) {
        try {
          const out = await openpgp.verify({ message, verificationKeys: keys.map((k) => k.key), date });
          return await summarise(out.signatures, keys);
        } catch (err) {
          return { state: 'invalid', keyId: signerKeyIds[0] ?? null, reason: safeReason(err) };
        }
      },
    },
  };
}

/**
 * One verdict for several signatures: the first valid one wins; otherwise a signature by a key
 * we hold that fails is `invalid`; otherwise `unknown-key`.
 */
async function summarise(
  results: readonly VerificationResult[],
  keys: readonly PublicKeyRecord[],
): Promise<SignatureCheck> {
  // Settle every promise first: a rejection left unobserved would surface as an unhandled one.
  const verified = await Promise.allSettled(results.map((r) => r.verified));
  const signatures = await Promise.allSettled(results.map((r) => r.signature));
  let invalid: SignatureCheck | null = null;
  let unknown: SignatureCheck | null = null;
  for (const [i, r] of results.entries()) {
    const [keyId] = keyIdsOf([r.keyID]);
    if (keyId === undefined) {
      invalid ??= { state: 'invalid', keyId: null, reason: DAMAGED_SIGNATURE };
      continue;
    }
    const holder = keys.find((k) => k.key.getKeys(r.keyID).length > 0);
    const outcome = verified[i];
    if (outcome?.status === 'fulfilled') {
      const sig = signatures[i];
      const created = sig?.status === 'fulfilled' ? (sig.value.packets[0]?.created ?? null) : null;
      // write() gives bytes here: the signature was read from bytes, not from a stream.
      const packet = sig?.status === 'fulfilled' ? sig.value.write() : new Uint8Array();
      const digest = createHash('sha256')
        .update(packet instanceof Uint8Array ? packet : `${keyId}:${String(created?.getTime())}`)
        .digest('hex');
      return { state: 'valid', fingerprint: holder?.fingerprint ?? keyId, keyId, createdAt: created, digest };
    }
    if (holder === undefined) unknown ??= { state: 'unknown-key', keyId };
    else invalid ??= { state: 'invalid', keyId, reason: safeReason(outcome?.reason) };
  }
  return invalid ?? unknown ?? { state: 'none' };
}

/** 16 uppercase hex digits. */
export function hexId(id: openpgp.KeyID): string {
  return id.toHex().toUpperCase();
}

/** True for a key ID; openpgp types them as `KeyID`, but a damaged packet has `undefined` (#10). */
export function isKeyId(id: unknown): id is openpgp.KeyID {
  // openpgp exports KeyID as a type only, so the test is structural.
  return typeof (id as { toHex?: unknown } | null | undefined)?.toHex === 'function';
}

/** The key IDs as {@link hexId}, without the ones a damaged packet leaves out. */
export function keyIdsOf(ids: readonly (openpgp.KeyID | undefined)[]): string[] {
  return ids.filter(isKeyId).map(hexId);
}
