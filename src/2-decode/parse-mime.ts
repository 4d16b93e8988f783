import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  MailParser,
  type AddressObject,
  type AttachmentStream,
  type HeaderLines,
  type Headers,
  type MailParserOptions,
  type MessageText,
} from 'mailparser';

/**
 * One attachment of a parsed entity. Its size and SHA-256 are always of the whole decoded
 * content; the content itself is kept only when the caller's policy asks for it or it is small.
 */
export interface ParsedPart {
  /** mailparser's IMAP-style part number (`2`, `1.3`), null for the root. */
  partId: string | null;
  filename: string | undefined;
  contentType: string;
  size: number;
  /** Hex SHA-256 of the whole decoded content. */
  sha256: string;
  /** The decoded content; empty when `contentOmitted`. */
  content: Buffer;
  /** True when the content was too large to keep and the policy did not ask for it. */
  contentOmitted: boolean;
  /** The first {@link PREFIX_BYTES} bytes of the content (all of it when it was kept). */
  prefix: Buffer;
}

/** What {@link parseEntity} returns: simpleParser's result, with attachments as {@link ParsedPart}. */
export interface ParsedEntity {
  headers: Headers;
  headerLines: HeaderLines;
  subject?: string;
  from?: AddressObject;
  to?: AddressObject | AddressObject[];
  cc?: AddressObject | AddressObject[];
  replyTo?: AddressObject;
  text?: string;
  html?: string | false;
  textConversionError?: Error;
  attachments: ParsedPart[];
}

/** What the caller knows about an attachment when it decides whether to keep its content. */
export interface PartInfo {
  contentType: string;
  filename: string | undefined;
  partId: string | null;
}

/** Which attachment contents to keep, and how large they can be. */
export interface KeepPolicy {
  /**
   * Decides from an attachment's type, name and first {@link SNIFF_BYTES} bytes whether its
   * content must be kept whatever its size (OpenPGP data decode still has to read).
   */
  keep(part: PartInfo, head: Buffer): boolean;
  /**
   * An upper bound for the decoded size of the part, when known (from the raw part): a large
   * kept content is then written into one buffer of that size instead of being collected in
   * chunks and concatenated, which would briefly hold it twice. A wrong bound costs only that.
   */
  sizeBound?(partId: string | null): number | undefined;
}

/** How many leading bytes a {@link KeepPolicy} sees (the OpenPGP sniffers look at 4 KiB). */
export const SNIFF_BYTES = 4096;
/** Content up to this size is always kept; larger content only when the policy asks for it. */
export const KEEP_SMALL_BYTES = 1 << 20;
/** How much of an omitted content is kept as `prefix` (enough for a returned message's headers). */
export const PREFIX_BYTES = 64 << 10;
/** The raw message is fed to the parser in slices of this size, never in one write. */
const FEED_BYTES = 64 << 10;

const ADDRESS_KEYS = ['from', 'to', 'cc', 'reply-to'] as const;

/**
 * Parses one MIME entity with mailparser's streaming `MailParser`, as simpleParser would, but
 * without buffering every attachment: each attachment is hashed while it streams, and its content
 * is kept only when `policy.keep` says so or it is at most {@link KEEP_SMALL_BYTES}. The raw bytes are
 * fed in slices, so no copy of the whole message is made. Rejects when mailparser fails.
 */
export function parseEntity(
  raw: Buffer,
  options: MailParserOptions,
  policy: KeepPolicy,
): Promise<ParsedEntity> {
  return new Promise((resolve, reject) => {
    // checksumAlgo false: the hash is computed here, so mailparser need not hash a second time.
    const parser = new MailParser({ ...options, checksumAlgo: false });
    const source = Readable.from(slices(raw), { objectMode: false });
    const attachments: ParsedPart[] = [];
    let headers: Headers = new Map();
    let headerLines: HeaderLines = [];
    let text: MessageText | null = null;
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      source.unpipe(parser);
      source.destroy();
      parser.destroy();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    parser.on('error', fail);
    source.on('error', fail);
    parser.on('headers', (h) => {
      headers = h;
      headerLines = parser.headerLines === false ? [] : parser.headerLines;
    });

    // Like simpleParser: while an attachment streams, nothing else is read from the parser (it
    // waits for release() anyway); once it is collected, reading resumes.
    let reading = false;
    const read = (): void => {
      reading = true;
      for (;;) {
        const data = parser.read();
        if (data === null) {
          reading = false;
          return;
        }
        if (data.type === 'text') {
          text = data;
          continue;
        }
        collect(data, policy, fail, (part) => {
          attachments.push(part);
          read();
        });
        return;
      }
    };
    // NB! Each handler runs outside this promise: a throw there would escape every try/await of
    // the caller and kill the process (STYLE.md "Stop doing"), so it becomes the rejection.
    parser.on(
      'readable',
      guarded(fail, () => {
        if (!reading) read();
      }),
    );
    parser.on(
      'end',
      guarded(fail, () => {
        if (settled) return;
        const entity = toEntity(headers, headerLines, text, attachments);
        settled = true;
        resolve(entity);
      }),
    );
    source.pipe(parser);
  });
}

/** Wraps a stream/event handler so that a throw inside it rejects through `fail` instead. */
function guarded<A extends unknown[]>(fail: (err: unknown) => void, handler: (...args: A) => void) {
  return (...args: A): void => {
    try {
      handler(...args);
    } catch (err) {
      fail(err);
    }
  };
}

/**
 * mailparser's attachment `contentType` is typed as a string but is `false` for a part whose
 * `Content-Type:` is empty or has no type (mailsplit's MimeNode). Such a part is read as the
 * RFC 2045 §5.2 default, `text/plain`, as the tree reader does (mime-tree.ts parseContentType).
 */
function normalContentType(value: unknown): string {
  if (typeof value !== 'string') return 'text/plain';
  const type = value.trim().toLowerCase();
  return type.includes('/') ? type : 'text/plain';
}

function* slices(raw: Buffer): Generator<Buffer> {
  for (let at = 0; at < raw.length; at += FEED_BYTES) yield raw.subarray(at, at + FEED_BYTES);
}

/**
 * Reads one attachment stream to its end: hashes and counts every byte, keeps the chunks while
 * the content may still be kept, and drops them once it is both large and not asked for.
 */
function collect(
  stream: AttachmentStream,
  policy: KeepPolicy,
  fail: (err: unknown) => void,
  done: (part: ParsedPart) => void,
): void {
  const contentType = normalContentType(stream.contentType);
  const filename = typeof stream.filename === 'string' ? stream.filename : undefined;
  const info: PartInfo = {
    contentType,
    filename,
    partId: stream.partId,
  };
  const hash = createHash('sha256');
  let chunks: Buffer[] = [];
  let length = 0;
  /** sniff: too little seen to decide; keep: the policy wants it; small: kept while small. */
  let mode: 'sniff' | 'keep' | 'small' | 'drop' = 'sniff';
  let prefix: Buffer | null = null;
  /** Where a large kept content is written when its size bound is known; else it stays in chunks. */
  let target: Buffer | null = null;
  const decide = () => {
    if (!policy.keep(info, Buffer.concat(chunks, Math.min(length, SNIFF_BYTES)))) {
      mode = 'small';
      return;
    }
    mode = 'keep';
    const bound = policy.sizeBound?.(info.partId);
    if (bound === undefined || bound <= KEEP_SMALL_BYTES || bound < length) return;
    target = Buffer.allocUnsafe(bound);
    let at = 0;
    for (const chunk of chunks) at += chunk.copy(target, at);
    chunks = [];
  };
  const content = stream.content;
  content.on('error', fail);
  content.on(
    'readable',
    guarded(fail, () => {
      let bytes: Buffer | null;
      while ((bytes = content.read() as Buffer | null) !== null) {
        hash.update(bytes);
        length += bytes.length;
        if (mode === 'drop') continue;
        if (target !== null) {
          if (length <= target.length) {
            bytes.copy(target, length - bytes.length);
            continue;
          }
          // The bound was wrong (the tree and mailparser disagree on the parts): go on in chunks.
          chunks = [target.subarray(0, length - bytes.length)];
          target = null;
        }
        chunks.push(bytes);
        if (mode === 'sniff' && length >= SNIFF_BYTES) decide();
        if (mode === 'small' && length > KEEP_SMALL_BYTES) {
          prefix = Buffer.concat(chunks, PREFIX_BYTES);
          chunks = [];
          mode = 'drop';
        }
      }
    }),
  );
  content.on(
    'end',
    guarded(fail, () => {
      if (mode === 'sniff') decide();
      const omitted = mode === 'drop';
      let kept: Buffer;
      if (omitted) kept = Buffer.alloc(0);
      // A bound far too large (the tree and mailparser disagree): do not hold on to the excess.
      else if (target !== null)
        kept =
          length < target.length / 2 ? Buffer.from(target.subarray(0, length)) : target.subarray(0, length);
      else kept = Buffer.concat(chunks, length);
      chunks = [];
      target = null;
      stream.release?.();
      done({
        partId: stream.partId,
        filename,
        contentType,
        size: length,
        sha256: hash.digest('hex'),
        content: kept,
        contentOmitted: omitted,
        prefix: prefix ?? kept,
      });
    }),
  );
}

function toEntity(
  headers: Headers,
  headerLines: HeaderLines,
  text: MessageText | null,
  attachments: ParsedPart[],
): ParsedEntity {
  const entity: ParsedEntity = { headers, headerLines, attachments };
  const subject = headers.get('subject');
  if (typeof subject === 'string') entity.subject = subject;
  for (const key of ADDRESS_KEYS) {
    const value = headers.get(key) as AddressObject | AddressObject[] | undefined;
    if (value === undefined) continue;
    // Single-occurrence headers come back as one object (mailparser keeps the first).
    if (key === 'from') entity.from = first(value);
    else if (key === 'reply-to') entity.replyTo = first(value);
    else if (key === 'to') entity.to = value;
    else entity.cc = value;
  }
  if (text !== null) {
    if (text.text !== undefined) entity.text = text.text;
    if (text.html !== undefined) entity.html = text.html;
    if (text.textConversionError !== undefined) entity.textConversionError = text.textConversionError;
  }
  return entity;
}

function first(value: AddressObject | AddressObject[]): AddressObject {
  return Array.isArray(value) ? (value[0] ?? { value: [], html: '', text: '' }) : value;
}
