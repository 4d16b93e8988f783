import { parseNested } from '../2-decode/decode.js';
import { allRaw, cleanSubject, idsIn } from '../2-decode/envelope.js';
import { parseContentType, readHeaderBlock, type ContentType, type MimePart } from '../2-decode/mime-tree.js';
import type { ParsedEntity } from '../2-decode/parse-mime.js';
import type { ProtectedHeaders } from '../2-decode/types.js';
import type { Context, Level } from './context.js';
import { KEEP_OPENPGP } from './openpgp-parts.js';

/**
 * Protected headers of an entity (the cryptographic payload): RFC 9788 marks it with `hp`
 * (`cipher` or `clear`), the older draft-autocrypt-lamps-protected-headers with
 * `protected-headers="v1"`. Either way the Subject (and Message-ID) of its own header block are
 * the real ones. Null without the marker or without a Subject.
 */
export function protectedHeadersOf(
  inner: ParsedEntity,
  where: { encrypted: boolean; signed: boolean },
): ProtectedHeaders | null {
  const raw = inner.headerLines.find((h) => h.key === 'content-type')?.line ?? null;
  if (
    raw === null ||
    !hasProtectedMarker(parseContentType(raw.slice(raw.indexOf(':') + 1).replace(/\r?\n(?=[ \t])/g, '')))
  )
    return null;
  const subject = cleanSubject(inner.subject ?? '');
  if (subject === '') return null;
  const messageId = allRaw(inner.headerLines, 'message-id')[0];
  return { subject, messageId: messageId === undefined ? null : (idsIn(messageId)[0] ?? null), ...where };
}

function hasProtectedMarker(type: ContentType): boolean {
  return type.params.has('protected-headers') || type.params.has('hp');
}

/**
 * The protected headers of the signed part of a multipart/signed (RFC 9788 §2 on signed-only
 * mail, `hp="clear"`): only its header block is parsed, so a large part costs nothing more.
 */
export async function signedProtectedHeaders(
  signed: MimePart,
  ctx: Context,
  level: Level,
): Promise<ProtectedHeaders | null> {
  if (!hasProtectedMarker(signed.contentType)) return null;
  const head = signed.raw.subarray(0, readHeaderBlock(signed.raw).bodyStart);
  const parsed = await parseNested(head, 'the protected headers', KEEP_OPENPGP, ctx.problems);
  return parsed === null
    ? null
    : protectedHeadersOf(parsed.mail, { encrypted: level.insideEncrypted, signed: true });
}

/** Of two sets of protected headers, the one the signature covers; else the outer one. */
export function pickProtected(
  own: ProtectedHeaders | null,
  nested: ProtectedHeaders | null,
): ProtectedHeaders | null {
  if (own !== null && (own.signed || nested === null || !nested.signed)) return own;
  return nested;
}
