import { createHash } from 'node:crypto';
import type { MailParserOptions } from 'mailparser';
import { assertNever, describeError, PsirtError } from '../core/errors.js';
import { openMessage, type OpenLimits } from '../pgp/decrypt-message.js';
import type { TeamKey } from '../pgp/keyring.js';
import { readKeyBlock, readPublicKeys, type PublicKeyRecord } from '../pgp/read-keys.js';
import { sniffArmor, sniffOpenPgp, type OpenPgpDataKind } from '../pgp/sniff.js';
import {
  readCleartext,
  readDetachedSignature,
  UNSIGNED,
  type PendingSignatures,
  type SignatureCheck,
} from '../pgp/verify-signature.js';
import { findArmorBlocks } from './armor-blocks.js';
import { readAutocryptKey } from './autocrypt.js';
import { readDeliveryReport } from './delivery-status.js';
import { allRaw, cleanSubject, idsIn, readEnvelope } from './envelope.js';
import { guessContentType } from './content-type.js';
import {
  parseContentType,
  parseMimeTree,
  readHeaderBlock,
  toCanonicalCrlf,
  type ContentType,
  type MimePart,
} from './mime-tree.js';
import {
  KEEP_SMALL_BYTES,
  parseEntity,
  type KeepPolicy,
  type ParsedEntity,
  type ParsedPart,
  type PartInfo,
} from './parse-mime.js';
import type {
  DecodedAttachment,
  DecodedMessage,
  DecryptFailure,
  DeliveryReport,
  EncryptionVerdict,
  FoundKey,
  KeySource,
  ProtectedHeaders,
  SignatureFormat,
  SignatureVerdict,
} from './types.js';

export interface DecodeDeps {
  /** Every configured team key; each may decrypt (rotation). */
  teamKeys: readonly TeamKey[];
  /** Armored public keys we already hold for the sender (pinned reporter key, or a staff key). */
  senderKeys: readonly string[];
  /** Ceiling for decrypted (decompressed) data per OpenPGP message: a zip-bomb guard. */
  maxDecompressedBytes: number;
  /** The time signatures and keys are judged at. */
  now: Date;
}

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

/** How deep OpenPGP content may nest (an encrypted attachment inside an encrypted part, …). */
const MAX_PGP_DEPTH = 4;

/** File names that announce OpenPGP data. */
const PGP_NAME = /\.(gpg|pgp|asc|key|pub)$/i;
const PGP_TYPES = new Set(['application/pgp-encrypted', 'application/pgp-keys', 'application/pgp']);
/** Attachments whose content decode reads whatever their size (besides sniffed OpenPGP data). */
const KEEP_TYPES = new Set([...PGP_TYPES, 'application/pgp-signature']);

/** A signature found while walking the message, checked once every key in it is known. */
interface SignatureClaim {
  format: SignatureFormat;
  pending: PendingSignatures;
  /** True when the signed text is only part of the body text (unsigned text around it). */
  partial: boolean;
}

/** The decoded content of one MIME entity (the message, or a decrypted inner entity). */
interface Body {
  text: string;
  textFromHtml: boolean;
  attachments: DecodedAttachment[];
  encryption: EncryptionVerdict;
  signature: SignatureClaim | null;
  delivery: DeliveryReport | null;
  /** Protected headers of a decrypted or signed entity, when there are any. */
  protectedHeaders: ProtectedHeaders | null;
}

interface Context {
  readonly deps: DecodeDeps;
  readonly limits: OpenLimits;
  readonly problems: string[];
  readonly known: readonly PublicKeyRecord[];
  readonly found: Map<string, { info: FoundKey; record: PublicKeyRecord }>;
}

interface Level {
  depth: number;
  insideEncrypted: boolean;
}

/**
 * Decodes a raw RFC 5322 message: MIME and charsets (mailparser), PGP/MIME and inline PGP
 * decryption with the team keys, signature verdicts, keys the reporter sent, and DSN fields.
 *
 * Steps: 1. parse the MIME; 2. read the envelope headers and the Autocrypt key; 3. walk the body
 * (PGP/MIME, multipart/signed, inline blocks, attachments), collecting keys and signatures;
 * 4. check the signatures against the sender's known keys plus every key found in the mail.
 *
 * Bad content never throws: it becomes verdicts and `problems`. Throws
 * `PsirtError('mime_unparseable')` only when mailparser cannot parse the message at all.
 */
export async function decodeMessage(raw: Buffer, deps: DecodeDeps): Promise<DecodedMessage> {
  const tree = parseMimeTree(raw);
  const mail = await parseMime(raw, tree);
  const problems: string[] = [];
  const sender = await readPublicKeys(deps.senderKeys);
  if (sender.unreadable.length > 0)
    problems.push(`${sender.unreadable.length} stored sender key(s) could not be read`);
  const ctx: Context = {
    deps,
    limits: { maxDecompressedBytes: deps.maxDecompressedBytes, now: deps.now },
    problems,
    known: sender.keys,
    found: new Map(),
  };
  const envelope = readEnvelope(mail, problems);
  if (envelope.headers.autocrypt !== null) {
    const autocrypt = readAutocryptKey(envelope.headers.autocrypt, envelope.from?.address ?? null);
    if (autocrypt.kind === 'key')
      await collectKeys(autocrypt.keydata, 'autocrypt', 'the Autocrypt header', ctx);
    else if (autocrypt.why === 'addr-mismatch')
      problems.push('the Autocrypt header is for another address than From; its key was ignored');
    else problems.push('the Autocrypt header is malformed; its key was ignored');
  }
  const body = await decodeEntity(tree, mail, ctx, { depth: 0, insideEncrypted: false });
  const signature = body.signature === null ? NO_SIGNATURE : await judge(body.signature, ctx);
  return {
    ...envelope,
    subject: body.protectedHeaders?.subject ?? envelope.subject,
    outerSubject: envelope.subject,
    protectedHeaders: body.protectedHeaders,
    text: body.text,
    textFromHtml: body.textFromHtml,
    attachments: body.attachments,
    encryption: body.encryption,
    signature,
    keys: [...ctx.found.values()].map((k) => k.info),
    delivery: body.delivery,
    problems,
  };
}

const NO_SIGNATURE: SignatureVerdict = { state: 'none' };
const NOT_ENCRYPTED: EncryptionVerdict = { state: 'none' };

async function parseMime(raw: Buffer, tree: MimePart): Promise<ParsedEntity> {
  try {
    return await parseEntity(raw, PARSE_OPTIONS, keepPolicy(tree));
  } catch (err) {
    throw new PsirtError('mime_unparseable', `the message cannot be parsed as MIME: ${describeError(err)}`, {
      cause: err,
    });
  }
}

/**
 * Which attachment contents parsing keeps beyond the small ones: everything of a PGP/MIME
 * encrypted entity (RFC 3156 §4: the control part and the OpenPGP message), signatures, and
 * whatever is or looks like OpenPGP data (the same test decodeContent applies), since decode
 * decrypts, verifies or reads keys from those. Anything else large is hashed and dropped.
 */
function keepPolicy(tree: MimePart): KeepPolicy {
  const bounds = new Map<string | null, number>();
  collectSizeBounds(tree, null, bounds);
  const sizeBound = (partId: string | null) => bounds.get(partId);
  if (isPgpMimeEncrypted(tree)) return { keep: () => true, sizeBound };
  return {
    keep: (part, head) => KEEP_TYPES.has(part.contentType) || openPgpKindOf(part, head) !== null,
    sizeBound,
  };
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

function isPgpMimeEncrypted(tree: MimePart): boolean {
  const protocol = tree.contentType.params.get('protocol')?.toLowerCase();
  return tree.contentType.type === 'multipart/encrypted' && protocol === 'application/pgp-encrypted';
}

/** Dispatches on the entity's structure: PGP/MIME encrypted, PGP/MIME signed, or anything else. */
async function decodeEntity(tree: MimePart, mail: ParsedEntity, ctx: Context, level: Level): Promise<Body> {
  const protocol = tree.contentType.params.get('protocol')?.toLowerCase();
  if (isPgpMimeEncrypted(tree)) return decodePgpMime(mail, ctx, level);
  if (tree.contentType.type === 'multipart/signed' && protocol === 'application/pgp-signature')
    return decodeSigned(mail, tree, ctx, level);
  return decodeContent(mail, tree, ctx, level);
}

/**
 * RFC 3156 §4: part 1 is the `Version: 1` control part, part 2 the OpenPGP message. The
 * plaintext is a complete MIME entity; its content replaces the outer content. Signatures
 * inside the encrypted message (§6.2) win over a multipart/signed inside the plaintext (§6.1).
 */
async function decodePgpMime(mail: ParsedEntity, ctx: Context, level: Level): Promise<Body> {
  const payload = mail.attachments.find((a) => a.partId === '2');
  const undecrypted = (encryption: EncryptionVerdict): Body => ({
    text: mail.text ?? '',
    textFromHtml: false,
    // Keep the ciphertext (staff may decrypt it by hand); drop the "Version: 1" control part.
    attachments: mail.attachments.filter((a) => a.partId !== '1').map(asIs),
    encryption,
    signature: null,
    delivery: null,
    protectedHeaders: null,
  });
  const failedWith = (reason: DecryptFailure, keyIds: string[]) =>
    undecrypted({ state: 'failed', format: 'pgp-mime', keyIds, reason });
  if (payload === undefined) {
    ctx.problems.push('multipart/encrypted without its encrypted part');
    return failedWith('corrupt', []);
  }
  if (level.depth >= MAX_PGP_DEPTH) {
    ctx.problems.push('encrypted content nested too deeply; left encrypted');
    return failedWith('unsupported', []);
  }
  const opened = await openMessage(payload.content, ctx.deps.teamKeys, ctx.limits);
  if (opened.kind === 'failed') {
    ctx.problems.push(`the PGP/MIME part could not be decrypted (${opened.reason}: ${opened.detail})`);
    return failedWith(opened.reason, opened.recipientKeyIds);
  }
  if (opened.kind === 'not-encrypted') {
    ctx.problems.push('multipart/encrypted holds an OpenPGP message that is not encrypted');
    return failedWith('unsupported', []);
  }
  const encryption: EncryptionVerdict = {
    state: 'decrypted',
    format: 'pgp-mime',
    keyIds: opened.recipientKeyIds,
    teamKeyFingerprint: opened.teamKeyFingerprint,
  };
  const outerSignature = claimOf(opened.signatures, 'encrypted');
  const plaintext = bufferView(opened.data);
  const innerTree = looksLikeMimeEntity(plaintext) ? parseMimeTree(plaintext) : null;
  const inner =
    innerTree === null ? null : await parseInner(plaintext, innerTree, 'the decrypted content', ctx);
  if (innerTree === null || inner === null) {
    return {
      text: plaintext.toString('utf8'),
      textFromHtml: false,
      attachments: [],
      encryption,
      signature: outerSignature,
      delivery: null,
      protectedHeaders: null,
    };
  }
  const body = await decodeEntity(innerTree, inner, ctx, { depth: level.depth + 1, insideEncrypted: true });
  return {
    ...body,
    encryption,
    signature: outerSignature ?? body.signature,
    protectedHeaders: pickProtected(
      protectedHeadersOf(inner, { encrypted: true, signed: outerSignature !== null }),
      body.protectedHeaders === null
        ? null
        : {
            ...body.protectedHeaders,
            encrypted: true,
            // The signature inside the encryption covers the whole plaintext (RFC 3156 §6.2).
            signed: outerSignature !== null || body.protectedHeaders.signed,
          },
    ),
  };
}

/**
 * RFC 3156 §5: the signature (part 2) covers part 1 exactly as transmitted, CRLF-canonical, up
 * to but not including the CRLF before the boundary. mailparser gives the decoded content;
 * the signed bytes come from the raw tree.
 */
async function decodeSigned(mail: ParsedEntity, tree: MimePart, ctx: Context, level: Level): Promise<Body> {
  const signaturePart = mail.attachments.find(
    (a) => a.partId === '2' && a.contentType === 'application/pgp-signature',
  );
  const content: ParsedEntity = { ...mail, attachments: mail.attachments.filter((a) => a !== signaturePart) };
  const body = await decodeContent(content, tree, ctx, level);
  const signed = tree.children[0];
  if (signed === undefined || signaturePart === undefined || tree.children.length !== 2) {
    ctx.problems.push('multipart/signed is malformed (it needs exactly the signed part and the signature)');
    return {
      ...body,
      signature: fixedClaim({ state: 'invalid', keyId: null, reason: 'malformed multipart/signed' }),
    };
  }
  const pending = await readDetachedSignature(
    toCanonicalCrlf(signed.raw),
    signaturePart.content.toString('latin1'),
  );
  return {
    ...body,
    signature: 'state' in pending ? fixedClaim(pending) : { format: 'pgp-mime', pending, partial: false },
    protectedHeaders: await signedProtectedHeaders(signed, ctx, level),
  };
}

/** Any other entity: text (or text from HTML), inline PGP blocks, attachments, DSN fields. */
async function decodeContent(mail: ParsedEntity, tree: MimePart, ctx: Context, level: Level): Promise<Body> {
  const html = typeof mail.html === 'string' && mail.html !== '' ? mail.html : null;
  const textFromHtml = html !== null && !hasPlainTextPart(tree);
  let text = mail.text ?? '';
  // mailparser converts HTML only at the root or beside a text part; an HTML body inside
  // multipart/mixed (HTML mail with attachments) comes back without text.
  if (textFromHtml && text.trim() === '') text = await htmlToText(html, ctx);
  else if (mail.textConversionError !== undefined)
    ctx.problems.push('the HTML body could not be converted to text');
  const inline = await decodeInline(text, ctx, level);
  const attachments: DecodedAttachment[] = [];
  let attachmentVerdict: EncryptionVerdict | null = null;
  for (const [i, attachment] of mail.attachments.entries()) {
    const label = `attachment ${i + 1}${level.insideEncrypted ? ' of the encrypted part' : ''}`;
    // Omitted content was sniffed while it streamed and found to hold no OpenPGP data.
    const kind = attachment.contentOmitted ? null : openPgpKindOf(attachment, attachment.content);
    switch (kind) {
      case 'secret-key':
        ctx.problems.push(`${label} held secret key material and was dropped`);
        break;
      case 'public-key':
        await collectKeys(
          attachment.content,
          level.insideEncrypted ? 'encrypted-part' : 'attachment',
          label,
          ctx,
        );
        attachments.push(asIs(attachment));
        break;
      case 'message': {
        const opened = await decryptAttachment(attachment, label, ctx, level);
        attachments.push(opened.attachment);
        // The first failure wins over successes: staff must hear that something stayed unreadable.
        if (
          opened.verdict !== null &&
          (attachmentVerdict === null || isFirstFailure(opened.verdict, attachmentVerdict))
        )
          attachmentVerdict = opened.verdict;
        break;
      }
      case 'cleartext':
      case 'signature':
      case null:
        attachments.push(asIs(attachment));
        break;
      default:
        assertNever(kind);
    }
  }
  const report = tree.contentType;
  const delivery =
    report.type === 'multipart/report' &&
    report.params.get('report-type')?.toLowerCase() === 'delivery-status'
      ? readDeliveryReport(
          // A large returned message was not kept; its first bytes hold the headers that are read.
          mail.attachments.map((a) => ({ contentType: a.contentType, content: a.prefix })),
        )
      : null;
  return {
    text: inline.text,
    textFromHtml,
    attachments,
    encryption: inline.encryption ?? attachmentVerdict ?? NOT_ENCRYPTED,
    signature: inline.signature,
    delivery,
    protectedHeaders: null,
  };
}

/**
 * Inline PGP in a text body: armored messages are decrypted (or unwrapped) in place, clear-signed
 * text is replaced by its content, secret key blocks are cut out. Only the first signature counts
 * for the verdict, and it is `partial` when any other text surrounds the signed block.
 */
async function decodeInline(
  text: string,
  ctx: Context,
  level: Level,
): Promise<{ text: string; encryption: EncryptionVerdict | null; signature: SignatureClaim | null }> {
  const blocks = findArmorBlocks(text);
  if (blocks.length === 0) return { text, encryption: null, signature: null };
  let out = '';
  let last = 0;
  let outside = '';
  let encryption: EncryptionVerdict | null = null;
  let signature: SignatureClaim | null = null;
  let signedBlocks = 0;
  let unsignedBlocks = 0;
  for (const block of blocks) {
    const before = text.slice(last, block.start);
    out += before;
    outside += before;
    last = block.end;
    switch (block.kind) {
      case 'message': {
        if (level.depth >= MAX_PGP_DEPTH) {
          ctx.problems.push('inline PGP nested too deeply; left as is');
          out += block.armored;
          break;
        }
        const opened = await openMessage(block.armored, ctx.deps.teamKeys, ctx.limits);
        if (opened.kind === 'failed') {
          ctx.problems.push(
            `an inline PGP message could not be decrypted (${opened.reason}: ${opened.detail})`,
          );
          encryption ??= {
            state: 'failed',
            format: 'inline',
            keyIds: opened.recipientKeyIds,
            reason: opened.reason,
          };
          out += block.armored;
          unsignedBlocks += 1;
          break;
        }
        if (opened.kind === 'decrypted')
          encryption ??= {
            state: 'decrypted',
            format: 'inline',
            keyIds: opened.recipientKeyIds,
            teamKeyFingerprint: opened.teamKeyFingerprint,
          };
        out += bufferView(opened.data).toString('utf8');
        const claim = claimOf(opened.signatures, 'inline');
        if (claim !== null) {
          signedBlocks += 1;
          signature ??= claim;
        } else unsignedBlocks += 1;
        break;
      }
      case 'cleartext': {
        const read = await readCleartext(block.armored);
        if ('error' in read) {
          ctx.problems.push(`a clear-signed block could not be read (${read.error})`);
          out += block.armored;
          unsignedBlocks += 1;
          break;
        }
        out += read.text;
        signedBlocks += 1;
        signature ??= { format: 'cleartext', pending: read.signatures, partial: false };
        break;
      }
      case 'secret-key':
        ctx.problems.push('the text held a secret key block, which was removed');
        out += '[secret key material removed]';
        break;
      case 'public-key':
        out += block.armored;
        unsignedBlocks += 1;
        break;
      default:
        assertNever(block.kind);
    }
  }
  const after = text.slice(last);
  out += after;
  outside += after;
  const unsignedAround = outside.trim() !== '' || signedBlocks + unsignedBlocks > 1;
  if (signature !== null && unsignedAround) signature = { ...signature, partial: true };
  if (encryption?.state === 'decrypted' && outside.trim() !== '')
    ctx.problems.push('text outside the inline PGP block was not encrypted');
  return { text: out, encryption, signature };
}

/** Decrypts an encrypted attachment; on failure the attachment stays as it came. */
async function decryptAttachment(
  attachment: ParsedPart,
  label: string,
  ctx: Context,
  level: Level,
): Promise<{ attachment: DecodedAttachment; verdict: EncryptionVerdict | null }> {
  if (level.depth >= MAX_PGP_DEPTH) {
    ctx.problems.push(`${label} is encrypted content nested too deeply; left encrypted`);
    return { attachment: asIs(attachment), verdict: null };
  }
  const opened = await openMessage(attachment.content, ctx.deps.teamKeys, ctx.limits);
  switch (opened.kind) {
    case 'failed':
      ctx.problems.push(`${label} could not be decrypted (${opened.reason}: ${opened.detail})`);
      return {
        attachment: asIs(attachment),
        verdict: {
          state: 'failed',
          format: 'attachment',
          keyIds: opened.recipientKeyIds,
          reason: opened.reason,
        },
      };
    case 'not-encrypted':
      return { attachment: asIs(attachment), verdict: null };
    case 'decrypted': {
      const content = bufferView(opened.data);
      const filename = decryptedName(attachment.filename, opened.filename);
      const contentType = guessContentType(filename);
      // The same rule as for attachments that came in clear: large plaintext that is not
      // OpenPGP data itself is hashed, not kept.
      const omit =
        content.length > KEEP_SMALL_BYTES &&
        openPgpKindOf({ contentType, filename: filename ?? undefined }, content) === null;
      return {
        attachment: {
          filename,
          contentType,
          size: content.length,
          sha256: createHash('sha256').update(content).digest('hex'),
          content: omit ? Buffer.alloc(0) : content,
          contentOmitted: omit,
          decrypted: true,
        },
        verdict: {
          state: 'decrypted',
          format: 'attachment',
          keyIds: opened.recipientKeyIds,
          teamKeyFingerprint: opened.teamKeyFingerprint,
        },
      };
    }
    default:
      return assertNever(opened);
  }
}

/**
 * What OpenPGP data an attachment holds, from its content (or only the first 4 KiB of it: the
 * answer is the same). Armored data is recognised in any attachment; binary data only where the
 * name or type announces OpenPGP (a random binary may start like a packet). A forwarded message
 * (message/*) is never looked into.
 */
function openPgpKindOf(
  part: Pick<PartInfo, 'contentType' | 'filename'>,
  content: Buffer,
): OpenPgpDataKind | null {
  if (part.contentType.startsWith('message/')) return null;
  const announced =
    PGP_TYPES.has(part.contentType) || (part.filename !== undefined && PGP_NAME.test(part.filename));
  if (announced) return sniffOpenPgp(content);
  const head = content.subarray(0, 4096).toString('latin1');
  return sniffArmor(head);
}

async function collectKeys(data: Uint8Array, source: KeySource, label: string, ctx: Context): Promise<void> {
  const block = await readKeyBlock(data);
  switch (block.kind) {
    case 'secret':
      ctx.problems.push(`${label} held secret key material and was dropped`);
      return;
    case 'unreadable':
      ctx.problems.push(`${label} is not a readable OpenPGP public key`);
      return;
    case 'public':
      for (const record of block.keys) {
        if (ctx.found.has(record.fingerprint)) continue;
        ctx.found.set(record.fingerprint, {
          info: {
            fingerprint: record.fingerprint,
            armored: record.armored,
            source,
            addresses: [...record.addresses],
          },
          record,
        });
      }
      return;
    default:
      assertNever(block);
  }
}

/** Checks a claim against every key we hold for the sender plus every key found in the mail. */
async function judge(claim: SignatureClaim, ctx: Context): Promise<SignatureVerdict> {
  const keys = [...ctx.known, ...[...ctx.found.values()].map((k) => k.record)];
  const check: SignatureCheck = await claim.pending.check(keys, ctx.deps.now);
  const format = claim.format;
  switch (check.state) {
    case 'none':
      return NO_SIGNATURE;
    case 'valid':
      if (claim.partial) {
        ctx.problems.push('the signature covers only part of the text');
        return {
          state: 'invalid',
          keyId: check.keyId,
          reason: 'unsigned text surrounds the signed block',
          format,
        };
      }
      return {
        state: 'valid',
        fingerprint: check.fingerprint,
        keyId: check.keyId,
        createdAt: check.createdAt?.toISOString() ?? '',
        digest: check.digest,
        format,
      };
    case 'unknown-key':
      return { state: 'unknown-key', keyId: check.keyId, format };
    case 'invalid':
      return { state: 'invalid', keyId: check.keyId, reason: check.reason, format };
    default:
      return assertNever(check);
  }
}

function isFirstFailure(next: EncryptionVerdict, current: EncryptionVerdict): boolean {
  return next.state === 'failed' && current.state !== 'failed';
}

function claimOf(pending: PendingSignatures, format: SignatureFormat): SignatureClaim | null {
  // Not by signerKeyIds: a damaged signature names no key and still gets a verdict (#10).
  return pending === UNSIGNED ? null : { format, pending, partial: false };
}

function fixedClaim(check: SignatureCheck): SignatureClaim {
  return {
    format: 'pgp-mime',
    pending: { signerKeyIds: [], check: () => Promise.resolve(check) },
    partial: false,
  };
}

/** mailparser's own HTML-to-text conversion, run on the HTML as a message of its own. */
async function htmlToText(html: string, ctx: Context): Promise<string> {
  const wrapped = Buffer.from(`Content-Type: text/html; charset=utf-8\r\n\r\n${html}`, 'utf8');
  const parsed = await parseInner(wrapped, parseMimeTree(wrapped), 'the HTML body', ctx);
  if (parsed?.textConversionError !== undefined)
    ctx.problems.push('the HTML body could not be converted to text');
  return parsed?.text ?? '';
}

/** Parses content found inside the message; a failure is a problem, not an exception. */
async function parseInner(
  content: Buffer,
  tree: MimePart,
  what: string,
  ctx: Context,
): Promise<ParsedEntity | null> {
  try {
    return await parseEntity(content, PARSE_OPTIONS, keepPolicy(tree));
  } catch (err) {
    ctx.problems.push(`${what} is not parseable MIME (${describeError(err)})`);
    return null;
  }
}

/** RFC 3156 §4 says the plaintext is a MIME entity; some clients encrypt bare text instead. */
function looksLikeMimeEntity(buf: Buffer): boolean {
  const firstLine = buf.subarray(0, 1000).toString('latin1').split(/\r?\n/, 1)[0] ?? '';
  return firstLine === '' || /^[!-9;-~]+:/.test(firstLine);
}

/**
 * Protected headers of an entity (the cryptographic payload): RFC 9788 marks it with `hp`
 * (`cipher` or `clear`), the older draft-autocrypt-lamps-protected-headers with
 * `protected-headers="v1"`. Either way the Subject (and Message-ID) of its own header block are
 * the real ones. Null without the marker or without a Subject.
 */
function protectedHeadersOf(
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
async function signedProtectedHeaders(
  signed: MimePart,
  ctx: Context,
  level: Level,
): Promise<ProtectedHeaders | null> {
  if (!hasProtectedMarker(signed.contentType)) return null;
  const head = signed.raw.subarray(0, readHeaderBlock(signed.raw).bodyStart);
  const parsed = await parseInner(head, parseMimeTree(head), 'the protected headers', ctx);
  return parsed === null
    ? null
    : protectedHeadersOf(parsed, { encrypted: level.insideEncrypted, signed: true });
}

/** Of two sets of protected headers, the one the signature covers; else the outer one. */
function pickProtected(
  own: ProtectedHeaders | null,
  nested: ProtectedHeaders | null,
): ProtectedHeaders | null {
  if (own !== null && (own.signed || nested === null || !nested.signed)) return own;
  return nested;
}

/** True when the tree has a text/plain part shown inline, i.e. mailparser's text is not from HTML. */
function hasPlainTextPart(part: MimePart): boolean {
  if (part.children.length > 0) return part.children.some(hasPlainTextPart);
  if (part.contentType.type.startsWith('multipart/')) return false;
  return (
    part.contentType.type === 'text/plain' && (part.disposition === null || part.disposition === 'inline')
  );
}

function asIs(attachment: ParsedPart): DecodedAttachment {
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

/** `exploit.py.gpg` → `exploit.py`; else the name inside the OpenPGP message; never a path. */
function decryptedName(outer: string | undefined, inner: string | null): string | null {
  const stripped = outer?.replace(/\.(gpg|pgp|asc)$/i, '');
  const name =
    stripped !== undefined && stripped !== '' && stripped !== outer ? stripped : (inner ?? outer ?? '');
  // eslint-disable-next-line no-control-regex -- file names must not carry control characters
  const safe = (name.split(/[\\/]/).pop() ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return safe === '' ? null : safe;
}

/** A Buffer over openpgp's Uint8Array without copying it. */
function bufferView(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
