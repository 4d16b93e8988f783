/**
 * A minimal MIME structure reader over the raw bytes. mailparser decodes content but does not
 * give the raw bytes of a part, which RFC 3156 §5 (multipart/signed) needs, so this walks the
 * boundaries itself. Parts are views into the source Buffer: nothing is copied, and only header
 * blocks are ever turned into strings (never a body, so never the whole message).
 */

export interface ContentType {
  /** `type/subtype`, lower-cased; `text/plain` when the header is absent (RFC 2045 §5.2). */
  type: string;
  /** Parameters by lower-cased name. */
  params: ReadonlyMap<string, string>;
}

export interface MimePart {
  /** The whole entity: header block, blank line and body. */
  readonly raw: Buffer;
  /** The body alone. */
  readonly body: Buffer;
  readonly contentType: ContentType;
  /** Content-Disposition value, lower-cased, or null. */
  readonly disposition: string | null;
  /** Content-Transfer-Encoding, lower-cased, or null. */
  readonly encoding: string | null;
  /** Children of a multipart entity; empty otherwise (message/rfc822 is not entered). */
  readonly children: readonly MimePart[];
}

export interface TreeLimits {
  maxDepth: number;
  maxParts: number;
}

const DEFAULT_LIMITS: TreeLimits = { maxDepth: 32, maxParts: 1000 };
/**
 * Header bytes read per entity. mailparser refuses a larger header block anyway (`maxHeadSize`,
 * 1 MiB); the cap keeps an entity without a blank line from being turned into one huge string.
 */
const MAX_HEADER_BYTES = 1 << 20;
const LF = 0x0a;
const CR = 0x0d;

/** Reads the structure of one MIME entity. Lenient: a missing close delimiter ends at EOF. */
export function parseMimeTree(raw: Buffer, limits: TreeLimits = DEFAULT_LIMITS): MimePart {
  const budget = { parts: limits.maxParts };
  return readPart(raw, 0, limits.maxDepth, budget);
}

function readPart(raw: Buffer, depth: number, maxDepth: number, budget: { parts: number }): MimePart {
  budget.parts -= 1;
  const { headers, bodyStart } = readHeaderBlock(raw);
  const contentType = parseContentType(headers.get('content-type') ?? null);
  const disposition = headers.get('content-disposition')?.split(';')[0]?.trim().toLowerCase() ?? null;
  const encoding = headers.get('content-transfer-encoding')?.trim().toLowerCase() ?? null;
  const body = raw.subarray(bodyStart);
  const boundary = contentType.params.get('boundary');
  let children: MimePart[] = [];
  if (contentType.type.startsWith('multipart/') && boundary !== undefined && depth < maxDepth) {
    children = [];
    for (const part of splitMultipart(body, boundary)) {
      if (budget.parts <= 0) break;
      children.push(readPart(part, depth + 1, maxDepth, budget));
    }
  }
  return {
    raw,
    body,
    contentType,
    disposition: disposition === '' ? null : disposition,
    encoding: encoding === '' ? null : encoding,
    children,
  };
}

/**
 * The header fields of an entity (unfolded, first occurrence per lower-cased name) and where its
 * body starts. An entity that starts with a blank line has no headers.
 */
export function readHeaderBlock(raw: Buffer): { headers: ReadonlyMap<string, string>; bodyStart: number } {
  let end: number;
  let bodyStart: number;
  if (raw[0] === LF) [end, bodyStart] = [0, 1];
  else if (raw[0] === CR && raw[1] === LF) [end, bodyStart] = [0, 2];
  else {
    const crlf = raw.indexOf('\r\n\r\n');
    // A bare-LF blank line only matters before the CRLF one: no need to scan the whole body.
    const lf = (crlf === -1 ? raw : raw.subarray(0, crlf)).indexOf('\n\n');
    if (crlf !== -1 && (lf === -1 || crlf < lf)) [end, bodyStart] = [crlf, crlf + 4];
    else if (lf !== -1) [end, bodyStart] = [lf, lf + 2];
    else [end, bodyStart] = [raw.length, raw.length];
  }
  const headers = new Map<string, string>();
  const text = raw
    .subarray(0, Math.min(end, MAX_HEADER_BYTES))
    .toString('latin1')
    .replace(/\r?\n(?=[ \t])/g, '');
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, bodyStart };
}

/** Parses `type/subtype; name=value; name="quoted value"` (RFC 2045 §5.1). */
export function parseContentType(value: string | null): ContentType {
  const params = new Map<string, string>();
  if (value === null) return { type: 'text/plain', params };
  const semi = value.indexOf(';');
  const type = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
  let i = semi === -1 ? value.length : semi + 1;
  while (i < value.length) {
    const eq = value.indexOf('=', i);
    if (eq === -1) break;
    const name = value.slice(i, eq).trim().toLowerCase();
    let j = eq + 1;
    while (value[j] === ' ' || value[j] === '\t') j += 1;
    let v = '';
    if (value[j] === '"') {
      j += 1;
      while (j < value.length && value[j] !== '"') {
        if (value[j] === '\\' && j + 1 < value.length) j += 1;
        v += value[j] ?? '';
        j += 1;
      }
      const next = value.indexOf(';', j);
      i = next === -1 ? value.length : next + 1;
    } else {
      const next = value.indexOf(';', j);
      v = value.slice(j, next === -1 ? value.length : next).trim();
      i = next === -1 ? value.length : next + 1;
    }
    if (name !== '' && !params.has(name)) params.set(name, v);
  }
  return { type: type === '' || !type.includes('/') ? 'text/plain' : type, params };
}

/**
 * The body parts of a multipart body, each exactly as transmitted: from after its delimiter
 * line up to, not including, the line break before the next delimiter (RFC 2046 §5.1.1: that
 * line break belongs to the delimiter). The preamble and epilogue are dropped.
 */
export function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const marks: Array<{ at: number; next: number; close: boolean }> = [];
  let pos = 0;
  for (;;) {
    const at = body.indexOf(delimiter, pos);
    if (at === -1) break;
    pos = at + delimiter.length;
    if (at > 0 && body[at - 1] !== LF) continue;
    let j = at + delimiter.length;
    const close = body[j] === 0x2d && body[j + 1] === 0x2d;
    if (close) j += 2;
    while (body[j] === 0x20 || body[j] === 0x09) j += 1; // transport padding
    if (j < body.length && body[j] !== LF && !(body[j] === CR && body[j + 1] === LF)) continue;
    const next = j >= body.length ? j : body[j] === CR ? j + 2 : j + 1;
    marks.push({ at, next, close });
    if (close) break;
  }
  const parts: Buffer[] = [];
  for (const [k, mark] of marks.entries()) {
    if (mark.close) break;
    const following = marks[k + 1];
    let end = following === undefined ? body.length : following.at;
    if (following !== undefined) {
      if (end > mark.next && body[end - 1] === LF) end -= 1;
      if (end > mark.next && body[end - 1] === CR) end -= 1;
    }
    parts.push(body.subarray(mark.next, Math.max(mark.next, end)));
  }
  return parts;
}

/**
 * The bytes with every line break as CRLF (RFC 3156 §5: signatures are over the canonical
 * form). Returns the same Buffer when it already is canonical; otherwise one copy, made
 * Buffer to Buffer (no string of the part is built).
 */
export function toCanonicalCrlf(buf: Buffer): Buffer {
  let bare = 0;
  for (let i = buf.indexOf(LF); i !== -1; i = buf.indexOf(LF, i + 1)) {
    if (i === 0 || buf[i - 1] !== CR) bare += 1;
  }
  if (bare === 0) return buf;
  const out = Buffer.allocUnsafe(buf.length + bare);
  let written = 0;
  let from = 0;
  for (let i = buf.indexOf(LF); i !== -1; i = buf.indexOf(LF, i + 1)) {
    if (i > 0 && buf[i - 1] === CR) continue;
    written += buf.copy(out, written, from, i);
    out[written] = CR;
    written += 1;
    from = i;
  }
  buf.copy(out, written, from);
  return out;
}
