import type { DecodedMessage } from '../../src/decode/types.js';

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

/**
 * A mail from a staff member signed by their configured key, the subject in protected headers
 * covered by the signature (RFC 9788), as Thunderbird and neomutt send it.
 */
export function buildSignedStaffMail(
  member: { address: string; fingerprint?: string | undefined },
  subject: string,
  overrides: Omit<Partial<DecodedMessage>, 'headers'> = {},
): DecodedMessage {
  const fpr = member.fingerprint ?? '';
  return buildDecoded({
    messageId: 'cmd-1@staff.test',
    from: { address: member.address, name: null },
    subject,
    outerSubject: subject,
    protectedHeaders: { subject, messageId: 'cmd-1@staff.test', encrypted: false, signed: true },
    signature: {
      state: 'valid',
      fingerprint: fpr,
      keyId: fpr.slice(-16),
      createdAt: '2026-11-24T11:59:00.000Z',
      digest: 'd'.repeat(64),
      format: 'pgp-mime',
    },
    ...overrides,
  });
}
