import { assertNever } from '../core/errors.js';
import type { SignatureFormat, SignatureVerdict } from '../2-decode/types.js';
import { UNSIGNED, type PendingSignatures, type SignatureCheck } from '../pgp/verify-signature.js';
import type { Context, SignatureClaim } from './context.js';

export const NO_SIGNATURE: SignatureVerdict = { state: 'none' };

/** Checks a claim against every key we hold for the sender plus every key found in the mail. */
export async function judge(claim: SignatureClaim, ctx: Context): Promise<SignatureVerdict> {
  const keys = [...ctx.known, ...[...ctx.found.values()].map((k) => k.record)];
  const check: SignatureCheck = await claim.pending.check(keys, ctx.deps.now);
  const format = claim.format;
  switch (check.state) {
    case 'none':
      return NO_SIGNATURE;
    case 'valid':
      if (claim.partial) {
        ctx.problems.push('the signature covers only part of the text');
        return {
          state: 'invalid',
          keyId: check.keyId,
          reason: 'unsigned text surrounds the signed block',
          format,
        };
      }
      return {
        state: 'valid',
        fingerprint: check.fingerprint,
        keyId: check.keyId,
        createdAt: check.createdAt?.toISOString() ?? '',
        digest: check.digest,
        format,
      };
    case 'unknown-key':
      return { state: 'unknown-key', keyId: check.keyId, format };
    case 'invalid':
      return { state: 'invalid', keyId: check.keyId, reason: check.reason, format };
    default:
      return assertNever(check);
  }
}

/** The claim of signatures found in an OpenPGP message, or null when it was not signed. */
export function claimOf(pending: PendingSignatures, format: SignatureFormat): SignatureClaim | null {
  // Not by signerKeyIds: a damaged signature names no key and still gets a verdict (#10).
  return pending === UNSIGNED ? null : { format, pending, partial: false };
}

/** A PGP/MIME claim whose check is already known (a malformed or unreadable signature). */
export function fixedClaim(check: SignatureCheck): SignatureClaim {
  return {
    format: 'pgp-mime',
    pending: { signerKeyIds: [], check: () => Promise.resolve(check) },
    partial: false,
  };
}
