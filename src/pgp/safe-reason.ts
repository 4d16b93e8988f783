import { describeError } from '../core/errors.js';

/**
 * openpgp's error text as one bounded line that is safe for `problems` and logs. Its messages
 * name algorithms and key IDs, but a few quote input (an armor header line, a non-ASCII
 * character): those parts are cut, so no message content or key material gets through.
 */
export function safeReason(err: unknown): string {
  return describeError(err)
    .replace(/^Error (verifying|decrypting|reading|encrypting|signing) [a-z ]+: /i, '')
    .replace(/((?:armor header|Unknown header)[^:]*):.*$/i, '$1')
    .replace(/"[^"]*"/g, '"…"')
    .slice(0, 200);
}
