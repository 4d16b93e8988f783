import type { MailParserOptions } from 'mailparser';
import { describeError, PsirtError } from '../core/errors.js';
import { readDeliveryReport } from './delivery-status.js';
import { parseMimeTree, type MimePart } from './mime-tree.js';
import {
  parseEntity,
  type KeepPolicy,
  type ParsedEntity,
  type ParsedPart,
  type PartInfo,
} from './parse-mime.js';
import type { DecodedAttachment, DeliveryReport } from './types.js';

/**
 * Stage 2, MIME decoding: raw bytes → a parsed MIME entity (mailparser for the decoded content,
 * the raw tree for structure and signed bytes), its text, its DSN fields. It knows nothing of
 * OpenPGP; unwrap (stage 3) decides which attachment contents must be kept, through a
 * {@link KeepRule}, and calls back here for every entity it finds inside the message.
 */

/** One MIME entity: the raw tree (structure, exact bytes) and mailparser's reading of it. */
export interface MimeEntity {
  tree: MimePart;
  mail: ParsedEntity;
}

/**
 * Which attachment contents parsing keeps whatever their size, decided per entity from its raw
 * tree (e.g. everything of a PGP/MIME encrypted entity); anything else large is hashed and dropped.
 */
export type KeepRule = (tree: MimePart) => (part: PartInfo, head: Buffer) => boolean;

/**
 * mailparser settings. `ignoreEmbedded` keeps a forwarded message/rfc822 as an attachment (never
 * decrypted or merged into the text); `keepDeliveryStatus` keeps DSN fields out of the text;
 * the HTML/link rewriting we never use is switched off. Attachments are hashed with SHA-256 while
 * they stream (parse-mime.ts), so no second pass is needed.
 */
const PARSE_OPTIONS: MailParserOptions = {
  skipTextToHtml: true,
  skipTextLinks: true,
  skipImageLinks: true,
  ignoreEmbedded: true,
  keepDeliveryStatus: true,
  maxHtmlLengthToParse: 2_000_000,
};

/** A lone text/html entity has no attachments: nothing to keep. */
const KEEP_NOTHING: KeepRule = () => () => false;

/**
 * Parses the whole message. Throws `PsirtError('mime_unparseable')` only when mailparser cannot
 * parse it at all.
 */
export async function parseMessage(raw: Buffer, keep: KeepRule): Promise<MimeEntity> {
  const tree = parseMimeTree(raw);
  try {
    return { tree, mail: await parseEntity(raw, PARSE_OPTIONS, keepPolicy(tree, keep)) };
  } catch (err) {
    throw new PsirtError('mime_unparseable', `the message cannot be parsed as MIME: ${describeError(err)}`, {
      cause: err,
    });
  }
}

/**
 * Parses content found inside the message (`what` names it for staff); a failure is a problem,
 * not an exception.
 */
export async function parseNested(
  content: Buffer,
  what: string,
  keep: KeepRule,
  problems: string[],
): Promise<MimeEntity | null> {
  const tree = parseMimeTree(content);
  try {
    return { tree, mail: await parseEntity(content, PARSE_OPTIONS, keepPolicy(tree, keep)) };
  } catch (err) {
    problems.push(`${what} is not parseable MIME (${describeError(err)})`);
    return null;
  }
}

/** mailparser's part numbers to size bounds, plus the caller's rule of what to keep. */
function keepPolicy(tree: MimePart, keep: KeepRule): KeepPolicy {
  const bounds = new Map<string | null, number>();
  collectSizeBounds(tree, null, bounds);
  return { keep: keep(tree), sizeBound: (partId) => bounds.get(partId) };
}

/**
 * The most bytes each leaf part can decode to, by mailparser's part number (IMAP style: `2`,
 * `1.3`; null for a message that is not multipart): base64 decodes to at most 3/4 of its
 * length, anything else to at most its length.
 */
function collectSizeBounds(part: MimePart, partId: string | null, out: Map<string | null, number>): void {
  if (part.children.length === 0) {
    const encoded = part.body.length;
    out.set(partId, part.encoding === 'base64' ? Math.ceil((encoded * 3) / 4) : encoded);
    return;
  }
  for (const [i, child] of part.children.entries())
    collectSizeBounds(child, partId === null ? `${i + 1}` : `${partId}.${i + 1}`, out);
}

/** The text of an entity, and whether it came from its HTML. */
export interface BodyText {
  text: string;
  textFromHtml: boolean;
}

/** The entity's text: its text/plain, else its HTML converted to text. */
export async function readBodyText({ tree, mail }: MimeEntity, problems: string[]): Promise<BodyText> {
  const html = typeof mail.html === 'string' && mail.html !== '' ? mail.html : null;
  const textFromHtml = html !== null && !hasPlainTextPart(tree);
  let text = mail.text ?? '';
  // mailparser converts HTML only at the root or beside a text part; an HTML body inside
  // multipart/mixed (HTML mail with attachments) comes back without text.
  if (textFromHtml && text.trim() === '') text = await htmlToText(html, problems);
  else if (mail.textConversionError !== undefined)
    problems.push('the HTML body could not be converted to text');
  return { text, textFromHtml };
}

/** mailparser's own HTML-to-text conversion, run on the HTML as a message of its own. */
async function htmlToText(html: string, problems: string[]): Promise<string> {
  const wrapped = Buffer.from(`Content-Type: text/html; charset=utf-8\r\n\r\n${html}`, 'utf8');
  const parsed = await parseNested(wrapped, 'the HTML body', KEEP_NOTHING, problems);
  if (parsed?.mail.textConversionError !== undefined)
    problems.push('the HTML body could not be converted to text');
  return parsed?.mail.text ?? '';
}

/** True when the tree has a text/plain part shown inline, i.e. mailparser's text is not from HTML. */
function hasPlainTextPart(part: MimePart): boolean {
  if (part.children.length > 0) return part.children.some(hasPlainTextPart);
  if (part.contentType.type.startsWith('multipart/')) return false;
  return (
    part.contentType.type === 'text/plain' && (part.disposition === null || part.disposition === 'inline')
  );
}

/** The DSN fields of a `multipart/report; report-type=delivery-status` entity, else null. */
export function readDelivery({ tree, mail }: MimeEntity): DeliveryReport | null {
  const report = tree.contentType;
  if (
    report.type !== 'multipart/report' ||
    report.params.get('report-type')?.toLowerCase() !== 'delivery-status'
  )
    return null;
  // A large returned message was not kept; its first bytes hold the headers that are read.
  return readDeliveryReport(mail.attachments.map((a) => ({ contentType: a.contentType, content: a.prefix })));
}

/** An attachment as it came (not decrypted). */
export function attachmentAsIs(attachment: ParsedPart): DecodedAttachment {
  return {
    filename: attachment.filename ?? null,
    contentType: attachment.contentType,
    size: attachment.size,
    sha256: attachment.sha256,
    content: attachment.content,
    contentOmitted: attachment.contentOmitted,
    decrypted: false,
  };
}
