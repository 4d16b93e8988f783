import type { DecodedMessage } from '../2-decode/types.js';

export type AutomatedReason =
  | 'delivery-report'
  | 'auto-submitted'
  | 'precedence'
  | 'mailing-list'
  | 'auto-response-suppress'
  | 'null-sender'
  | 'mailer-daemon'
  | 'own-mail';

const ROBOT_LOCAL_PARTS = new Set([
  'mailer-daemon',
  'postmaster',
  'noreply',
  'no-reply',
  'do-not-reply',
  'donotreply',
]);

/**
 * Why this mail came from a machine, or null when it looks written by a person. Mail for which this
 * returns a reason is never answered (RFC 3834 §2; DESIGN.md invariant 4: no mail loops).
 */
export function detectAutomated(
  msg: DecodedMessage,
  ourAddresses: readonly string[],
): AutomatedReason | null {
  const h = msg.headers;
  if (msg.delivery !== null || /^multipart\/report\b/i.test(h.contentType ?? '')) return 'delivery-report';
  // RFC 3834 §5: any value other than "no" marks automatic mail.
  if (
    h.autoSubmitted !== null &&
    h.autoSubmitted
      .trim()
      .toLowerCase()
      .split(/[\s;(]/)[0] !== 'no'
  )
    return 'auto-submitted';
  if (h.precedence !== null && /^(bulk|junk|list|auto_reply)\b/i.test(h.precedence.trim()))
    return 'precedence';
  if (h.listId !== null || h.listUnsubscribe !== null) return 'mailing-list';
  // Microsoft: "All", "AutoReply", "OOF" … mean the sender does not want automatic answers.
  if (h.xAutoResponseSuppress !== null && h.xAutoResponseSuppress.trim() !== '')
    return 'auto-response-suppress';
  // RFC 3834 §3.1.1: never answer the null reverse-path.
  if (h.returnPath === '') return 'null-sender';
  const from = msg.from?.address ?? '';
  const local = from.split('@')[0] ?? '';
  if (ROBOT_LOCAL_PARTS.has(local)) return 'mailer-daemon';
  if (from !== '' && ourAddresses.includes(from)) return 'own-mail';
  return null;
}
