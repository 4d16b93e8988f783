import type {
  FoundKey,
  DecodedAttachment,
  DeliveryReport,
  EncryptionVerdict,
  ProtectedHeaders,
  SignatureFormat,
} from '../2-decode/types.js';
import type { OpenLimits } from '../pgp/decrypt-message.js';
import type { PublicKeyRecord } from '../pgp/read-keys.js';
import type { PendingSignatures } from '../pgp/verify-signature.js';
import type { DecodeDeps } from './options.js';

/** How deep OpenPGP content may nest (an encrypted attachment inside an encrypted part, …). */
export const MAX_PGP_DEPTH = 4;

export const NOT_ENCRYPTED: EncryptionVerdict = { state: 'none' };

/** A signature found while walking the message, checked once every key in it is known. */
export interface SignatureClaim {
  format: SignatureFormat;
  pending: PendingSignatures;
  /** True when the signed text is only part of the body text (unsigned text around it). */
  partial: boolean;
}

/** The unwrapped content of one MIME entity (the message, or a decrypted inner entity). */
export interface Body {
  text: string;
  textFromHtml: boolean;
  attachments: DecodedAttachment[];
  encryption: EncryptionVerdict;
  signature: SignatureClaim | null;
  delivery: DeliveryReport | null;
  /** Protected headers of a decrypted or signed entity, when there are any. */
  protectedHeaders: ProtectedHeaders | null;
}

/** What the walk over one message shares: its options, its problems and the keys met so far. */
export interface Context {
  readonly deps: DecodeDeps;
  readonly limits: OpenLimits;
  readonly problems: string[];
  /** The sender's keys we already held. */
  readonly known: readonly PublicKeyRecord[];
  /** Keys found in the mail, by fingerprint. */
  readonly found: Map<string, { info: FoundKey; record: PublicKeyRecord }>;
}

/** Where in the message an entity sits. */
export interface Level {
  depth: number;
  insideEncrypted: boolean;
}

/** A Buffer over openpgp's Uint8Array without copying it. */
export function bufferView(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
