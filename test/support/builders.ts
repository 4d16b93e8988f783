import type { DecodedMessage } from '../../src/2-decode/types.js';

type DeepPartialHeaders = Partial<DecodedMessage['headers']>;

/** A decoded mail from reporter1 with no special headers; override what a test is about. */
export function buildDecoded(
  overrides: Omit<Partial<DecodedMessage>, 'headers'> & { headers?: DeepPartialHeaders } = {},
): DecodedMessage {
  const { headers, ...rest } = overrides;
  return {
    messageId: 'report-1@reporter.test',
    inReplyTo: null,
    references: [],
    from: { address: 'reporter1@psirt.test', name: 'Reporter One' },
    replyTo: [],
    to: [{ address: 'security@psirt.test', name: null }],
    cc: [],
    subject: 'XSS in the login form',
    date: '2026-11-24T10:00:00.000Z',
    headers: {
      autoSubmitted: null,
      precedence: null,
      listId: null,
      listUnsubscribe: null,
      xAutoResponseSuppress: null,
      returnPath: 'reporter1@psirt.test',
      contentType: 'text/plain; charset=utf-8',
      autocrypt: null,
      authenticationResults: [],
      ...headers,
    },
    text: 'details',
    textFromHtml: false,
    attachments: [],
    encryption: { state: 'none' },
    signature: { state: 'none' },
    keys: [],
    delivery: null,
    problems: [],
    outerSubject: rest.subject ?? 'XSS in the login form',
    protectedHeaders: null,
    ...rest,
  };
}

/** What the staff member's client signed: the mail's Message-ID (inside and out), when, its digest. */
export interface StaffSignature {
  messageId?: string;
  /** The signature's creation time (ISO 8601); commands older than the replay window are refused. */
  signedAt?: string;
  /** The signed bytes' digest: distinct per mail, or the replay guard refuses the second. */
  digest?: string;
}

/**
 * A mail from a staff member signed by their configured key, the subject in protected headers
 * covered by the signature (RFC 9788), as Thunderbird and neomutt send it. `overrides` change the
 * mail as received (an outer `messageId` or `outerSubject` there is a rewrite in transit);
 * `signed` changes what was signed. The one builder of a decoded signed staff mail.
 */
export function buildSignedStaffMail(
  member: { address: string; fingerprint?: string | undefined },
  subject: string,
  overrides: Parameters<typeof buildDecoded>[0] = {},
  signed: StaffSignature = {},
): DecodedMessage {
  const fpr = member.fingerprint ?? '';
  const messageId = signed.messageId ?? 'cmd-1@staff.test';
  return buildDecoded({
    messageId,
    from: { address: member.address, name: null },
    subject,
    outerSubject: subject,
    protectedHeaders: { subject, messageId, encrypted: false, signed: true },
    signature: {
      state: 'valid',
      fingerprint: fpr,
      keyId: fpr.slice(-16),
      createdAt: signed.signedAt ?? '2026-11-24T11:59:00.000Z',
      digest: signed.digest ?? 'd'.repeat(64),
      format: 'pgp-mime',
    },
    ...overrides,
  });
}

/** A staff member as configured without an OpenPGP key: no `key_file`, no `fingerprint` (#16). */
export function withoutKey<T extends { key_file?: string | undefined; fingerprint?: string | undefined }>(
  member: T,
): T {
  const copy = { ...member };
  delete copy.key_file;
  delete copy.fingerprint;
  return copy;
}
