/**
 * The contract between decode + unwrap (MIME, then the OpenPGP layers) and classify. Everything here is derived from the raw
 * bytes alone; nothing is looked up in the database. Report content lives only in `text`,
 * `html` and `attachments[].content`: never log those fields.
 */

/** Where a reporter's public key was found in their mail. */
export type KeySource = 'attachment' | 'autocrypt' | 'encrypted-part' | 'signature';

export interface FoundKey {
  /** Uppercase hex fingerprint of the primary key. */
  fingerprint: string;
  /** The armored public key (never a secret key: secret key material found in mail is dropped). */
  armored: string;
  source: KeySource;
  /** User ID e-mail addresses in the key, lower-cased. */
  addresses: string[];
}

/**
 * Where the encrypted data was: a PGP/MIME part (RFC 3156 §4), an armored block in a text body,
 * or an encrypted attachment (`.gpg`, `.pgp`, `.asc`).
 */
export type EncryptionFormat = 'pgp-mime' | 'inline' | 'attachment';

export type EncryptionVerdict =
  | { state: 'none' }
  | {
      state: 'decrypted';
      format: EncryptionFormat;
      keyIds: string[];
      teamKeyFingerprint: string;
    }
  /** Encrypted, but we could not decrypt: no matching team key, corrupt data, or over the size cap. */
  | {
      state: 'failed';
      format: EncryptionFormat;
      keyIds: string[];
      reason: DecryptFailure;
    };

export type DecryptFailure = 'no-matching-key' | 'corrupt' | 'too-large' | 'unsupported';

/**
 * Where the signature was: `pgp-mime` a multipart/signed (RFC 3156 §5, also when nested in a
 * decrypted part), `encrypted` inside a PGP/MIME encrypted message (sign-then-encrypt, §6.2),
 * `inline` inside an armored PGP message in the text, `cleartext` a clear-signed text.
 */
export type SignatureFormat = 'pgp-mime' | 'inline' | 'cleartext' | 'encrypted';

export type SignatureVerdict =
  | { state: 'none' }
  /** Verified against a key we hold (one found in this mail or passed in as known). */
  | {
      state: 'valid';
      fingerprint: string;
      keyId: string;
      createdAt: string;
      /** Hex SHA-256 of the signature packet (a replayed signature has the same digest). */
      digest: string;
      format: SignatureFormat;
    }
  /** Signed, but by a key we do not hold. */
  | { state: 'unknown-key'; keyId: string; format: SignatureFormat }
  /** Signed, but the signature does not verify (altered in transit, or forged). */
  | {
      state: 'invalid';
      keyId: string | null;
      reason: string;
      format: SignatureFormat;
    };

export interface DecodedAttachment {
  filename: string | null;
  contentType: string;
  /** Size in bytes of the whole decoded (and decrypted) content, also when `contentOmitted`. */
  size: number;
  /** Hex SHA-256 of the whole decoded (and decrypted) content, also when `contentOmitted`. */
  sha256: string;
  /** The decoded (and, when it was encrypted, decrypted) bytes; empty when `contentOmitted`. */
  content: Buffer;
  /**
   * True when the content was not kept in memory because it is large (over 1 MiB) and not
   * OpenPGP data; `size` and `sha256` are of the full content. Only decode itself reads content
   * (to decrypt, verify and read keys), and it keeps whatever it needs.
   */
  contentOmitted: boolean;
  /** True when this attachment was itself encrypted and we decrypted it. */
  decrypted: boolean;
}

/** RFC 3464 delivery status notification, when the mail is one. */
export interface DeliveryReport {
  /** Message-ID (without <>) of the mail the report is about, from the returned headers. */
  originalMessageId: string | null;
  /** `failed`, `delayed`, `delivered`, `relayed`, `expanded` (Action field of the first recipient). */
  action: string | null;
  status: string | null;
  recipient: string | null;
}

export interface Address {
  address: string; // lower-cased
  name: string | null;
}

/**
 * Header fields a sender copied into the cryptographic payload (RFC 9788 header protection, or
 * the older `protected-headers="v1"` that Thunderbird and K-9 write).
 */
export interface ProtectedHeaders {
  /** The protected Subject (never log it). */
  subject: string;
  /** The protected Message-ID without angle brackets, when the sender copied it. */
  messageId: string | null;
  /** True when they were inside encrypted data (the outer subject was visible to anyone, these not). */
  encrypted: boolean;
  /**
   * True when the signature of the `signature` verdict covers them (signed part of a
   * multipart/signed, or the whole plaintext of a signed-and-encrypted message). A valid
   * signature then authenticates this subject; the outer one it never does.
   */
  signed: boolean;
}

export interface DecodedMessage {
  /** Message-ID without angle brackets, or null when absent. */
  messageId: string | null;
  inReplyTo: string | null;
  /** References, without angle brackets, oldest first. */
  references: string[];
  from: Address | null;
  replyTo: Address[];
  to: Address[];
  cc: Address[];
  /**
   * Decoded subject (RFC 2047), control characters removed, or "" when absent. For a message with
   * protected headers (RFC 9788 `hp`, or `protected-headers="v1"`) inside its encrypted or signed
   * part, the inner Subject: never log it, never put it in a clear header.
   */
  subject: string;
  /** The outer `Subject:` header as transmitted (decoded, cleaned): covered by DKIM, never by PGP. */
  outerSubject: string;
  /** The protected headers `subject` came from, or null when it is the outer header. */
  protectedHeaders: ProtectedHeaders | null;
  date: string | null;
  /**
   * Headers that classification needs: raw values (not RFC 2047-decoded) of the first
   * (top-most) occurrence, unfolded and trimmed; null when absent.
   */
  headers: {
    autoSubmitted: string | null;
    precedence: string | null;
    listId: string | null;
    listUnsubscribe: string | null;
    xAutoResponseSuppress: string | null;
    /** Return-Path written by the final MTA, without angle brackets; "" for the null sender `<>`. */
    returnPath: string | null;
    contentType: string | null;
    autocrypt: string | null;
    /** All Authentication-Results headers, top-most first (raw values). */
    authenticationResults: string[];
  };
  /** The best plain-text body (HTML-only mail converted to text), after decryption. */
  text: string;
  /** True when `text` was produced from HTML. */
  textFromHtml: boolean;
  attachments: DecodedAttachment[];
  encryption: EncryptionVerdict;
  signature: SignatureVerdict;
  keys: FoundKey[];
  delivery: DeliveryReport | null;
  /** Non-fatal problems noticed while decoding (for staff, never report content). */
  problems: string[];
}
