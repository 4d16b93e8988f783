import { idsIn } from './envelope.js';
import { readHeaderBlock } from './mime-tree.js';
import type { DeliveryReport } from './types.js';

const STATUS_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);
const RETURNED_TYPES = new Set([
  'message/rfc822',
  'message/global',
  'text/rfc822-headers',
  'message/global-headers',
]);

/** A part of the report, parsed as an attachment: its type and decoded content. */
export interface ReportPart {
  contentType: string;
  /** The decoded content, or at least its beginning (the returned headers are read from it). */
  content: Buffer;
}

/**
 * Reads an RFC 3464 delivery status notification (`multipart/report;
 * report-type=delivery-status`, or the RFC 6533 `global` forms) from its parts, parsed as
 * attachments: the Action, Status and Final-Recipient of the first recipient, and the Message-ID
 * of the returned message or headers.
 */
export function readDeliveryReport(attachments: readonly ReportPart[]): DeliveryReport {
  const status = attachments.find((a) => STATUS_TYPES.has(a.contentType));
  const returned = attachments.find((a) => RETURNED_TYPES.has(a.contentType));
  const fields = status === undefined ? new Map<string, string>() : firstRecipientFields(status.content);
  const recipient = fields.get('final-recipient') ?? null;
  let originalMessageId: string | null = null;
  if (returned !== undefined) {
    const id = readHeaderBlock(returned.content).headers.get('message-id');
    originalMessageId = id === undefined ? null : (idsIn(id)[0] ?? null);
  }
  return {
    originalMessageId,
    action: fields.get('action')?.toLowerCase() ?? null,
    status: fields.get('status') ?? null,
    recipient: recipient === null ? null : addressOf(recipient),
  };
}

/**
 * RFC 3464 §2.1: per-message fields, a blank line, then one block per recipient. Returns the
 * fields of the first recipient block (the first block that has an Action or Final-Recipient).
 */
function firstRecipientFields(content: Buffer): Map<string, string> {
  const blocks = content
    .toString('utf8')
    .replace(/\r\n/g, '\n')
    .replace(/\n[ \t]+/g, ' ')
    .split(/\n\s*\n/);
  for (const block of blocks.slice(1)) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      if (!fields.has(name)) fields.set(name, line.slice(colon + 1).trim());
    }
    if (fields.has('action') || fields.has('final-recipient')) return fields;
  }
  return new Map();
}

/** `rfc822; user@example.test` → `user@example.test` (RFC 3464 §2.3.2 address-type; address). */
function addressOf(value: string): string {
  const semi = value.indexOf(';');
  const address = (semi === -1 ? value : value.slice(semi + 1)).trim().replace(/^<|>$/g, '');
  return address.toLowerCase();
}
