import * as openpgp from 'openpgp';
import type { TeamKey } from './keyring.js';
import { safeReason } from './safe-reason.js';
import {
  hexId,
  isKeyId,
  keyIdsOf,
  signaturesOver,
  UNSIGNED,
  type PendingSignatures,
  type VerificationResult,
} from './verify-signature.js';

export type DecryptFailureReason = 'no-matching-key' | 'corrupt' | 'too-large' | 'unsupported';

export interface OpenLimits {
  /** Ceiling for the plaintext, compressed or not (openpgp's own default is unlimited). */
  maxDecompressedBytes: number;
  /** The time signatures and keys are judged at. */
  now: Date;
}

/** What an OpenPGP message (armored or binary) turned out to be. */
export type OpenedMessage =
  | {
      kind: 'decrypted';
      data: Uint8Array;
      /** The literal data packet's file name, when the sender set one. */
      filename: string | null;
      /** Key IDs the session key was encrypted to (16 uppercase hex digits each). */
      recipientKeyIds: string[];
      teamKeyFingerprint: string;
      /** Signatures inside the encrypted message (sign-then-encrypt), checked later. */
      signatures: PendingSignatures;
    }
  /** A signed (or bare literal) message that was not encrypted. */
  | { kind: 'not-encrypted'; data: Uint8Array; filename: string | null; signatures: PendingSignatures }
  | { kind: 'failed'; reason: DecryptFailureReason; recipientKeyIds: string[]; detail: string };

/** All zeros: the sender hid the recipient (gpg --throw-keyids); every team key is a candidate. */
const WILDCARD_KEY_ID = '0000000000000000';
const TOO_LARGE = /decompressed message size exceeded/i;

/**
 * Opens an OpenPGP message with the team keys: picks the team key(s) by the message's recipient
 * key IDs (several team keys exist during rotation), decrypts with openpgp's
 * `maxDecompressedMessageSize` set, and returns the plaintext with its signatures left pending.
 * Never rejects: every failure is a `failed` outcome with a reason.
 */
export async function openMessage(
  input: string | Uint8Array,
  teamKeys: readonly TeamKey[],
  limits: OpenLimits,
): Promise<OpenedMessage> {
  const read = await readMessage(input);
  if ('error' in read) return failed('corrupt', [], read.error);
  const message = read.message;
  const tags = new Set(message.packets.map((p) => (p.constructor as { tag?: number }).tag));
  const recipientKeyIds = keyIdsOf(message.getEncryptionKeyIDs());
  const encrypted =
    tags.has(openpgp.enums.packet.symEncryptedIntegrityProtectedData) ||
    tags.has(openpgp.enums.packet.aeadEncryptedData) ||
    tags.has(openpgp.enums.packet.symmetricallyEncryptedData);
  if (!encrypted) return openUnencrypted(message, limits);
  if (tags.has(openpgp.enums.packet.symmetricallyEncryptedData))
    return failed('unsupported', recipientKeyIds, 'encrypted without integrity protection');
  if (recipientKeyIds.length === 0)
    return failed('unsupported', recipientKeyIds, 'encrypted to a passphrase, not to a key');

  const candidates = teamKeys.filter((tk) =>
    // Only key IDs a packet actually names: a damaged one leaves it undefined (#10).
    message
      .getEncryptionKeyIDs()
      .filter(isKeyId)
      .some((id) => hexId(id) === WILDCARD_KEY_ID || tk.key.getKeys(id).length > 0),
  );
  if (candidates.length === 0)
    return failed('no-matching-key', recipientKeyIds, 'no team key is a recipient');

  let last: OpenedMessage = failed('corrupt', recipientKeyIds, 'not decrypted');
  for (const [i, teamKey] of candidates.entries()) {
    // openpgp consumes the encrypted packet while decrypting, so each attempt reads afresh.
    const attempt = i === 0 ? read : await readMessage(input);
    if ('error' in attempt) return failed('corrupt', recipientKeyIds, attempt.error);
    try {
      const result = await openpgp.decrypt({
        message: attempt.message,
        decryptionKeys: teamKey.key,
        format: 'binary',
        date: limits.now,
        config: { maxDecompressedMessageSize: limits.maxDecompressedBytes },
      });
      if (result.data.length > limits.maxDecompressedBytes)
        return failed('too-large', recipientKeyIds, 'plaintext larger than the limit');
      return {
        kind: 'decrypted',
        data: result.data,
        filename: result.filename === '' ? null : result.filename,
        recipientKeyIds,
        teamKeyFingerprint: teamKey.fingerprint,
        signatures: await pendingFrom(result.data, result.signatures),
      };
    } catch (err) {
      const detail = safeReason(err);
      if (TOO_LARGE.test(detail)) return failed('too-large', recipientKeyIds, detail);
      last = failed('corrupt', recipientKeyIds, detail);
    }
  }
  return last;
}

async function openUnencrypted(
  message: openpgp.Message<Uint8Array>,
  limits: OpenLimits,
): Promise<OpenedMessage> {
  try {
    const result = await openpgp.verify({
      message,
      verificationKeys: [],
      format: 'binary',
      date: limits.now,
      config: { maxDecompressedMessageSize: limits.maxDecompressedBytes },
    });
    if (result.data.length > limits.maxDecompressedBytes)
      return failed('too-large', [], 'plaintext larger than the limit');
    const filename = message.getFilename();
    return {
      kind: 'not-encrypted',
      data: result.data,
      filename: filename === null || filename === '' ? null : filename,
      signatures: await pendingFrom(result.data, result.signatures),
    };
  } catch (err) {
    const detail = safeReason(err);
    return failed(TOO_LARGE.test(detail) ? 'too-large' : 'corrupt', [], detail);
  }
}

/** Takes the signature packets out of openpgp's results so they can be checked later. */
async function pendingFrom(
  data: Uint8Array,
  results: readonly VerificationResult[],
): Promise<PendingSignatures> {
  if (results.length === 0) return UNSIGNED;
  // These checks ran without keys and reject by design ("Could not find signing key"); only the
  // signature packets are wanted here, so observing the rejection is all there is to do.
  await Promise.allSettled(results.map((r) => r.verified));
  const signatures: openpgp.Signature[] = [];
  for (const settled of await Promise.allSettled(results.map((r) => r.signature))) {
    if (settled.status === 'fulfilled') signatures.push(settled.value);
  }
  return signaturesOver(data, signatures);
}

async function readMessage(
  input: string | Uint8Array,
): Promise<{ message: openpgp.Message<Uint8Array> } | { error: string }> {
  try {
    const text = typeof input === 'string' ? input : armoredText(input);
    const message =
      text !== null
        ? ((await openpgp.readMessage({ armoredMessage: text })) as unknown as openpgp.Message<Uint8Array>)
        : await openpgp.readMessage({ binaryMessage: input as Uint8Array });
    return { message };
  } catch (err) {
    return { error: safeReason(err) };
  }
}

function armoredText(data: Uint8Array): string | null {
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return view.subarray(0, 4096).toString('latin1').includes('-----BEGIN PGP MESSAGE-----')
    ? view.toString('latin1')
    : null;
}

function failed(reason: DecryptFailureReason, recipientKeyIds: string[], detail: string): OpenedMessage {
  return { kind: 'failed', reason, recipientKeyIds, detail };
}
