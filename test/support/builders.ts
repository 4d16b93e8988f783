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
    ...rest,
  };
}
