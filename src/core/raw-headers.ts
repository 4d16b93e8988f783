/**
 * A cheap scan of a raw message's header block, used before (or instead of) full MIME parsing:
 * for the duplicate check at store time and for mail that cannot be parsed at all. Unfolds
 * continuation lines; does not decode RFC 2047 words.
 *
 * NB! Every header here is attacker-controlled and can be hundreds of KB: the scan reads at most
 * {@link MAX_HEADER_BYTES} and is one linear pass per field, with indexOf and character loops
 * and no regular expression that could backtrack (DESIGN.md invariant 8; #10: a 200 KB `From:`
 * without `@` made the former pattern take 114 s).
 */
export interface RawHeaderScan {
  messageId: string | null;
  from: string | null;
  subject: string;
}

const MAX_HEADER_BYTES = 256 * 1024;

/** `\s` over a latin1 string: the characters a regular expression's `\s` would match there. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0;
}

/** The end of the header block: the first empty line (CRLF or bare LF), or the whole input. */
function headerBlock(head: string): string {
  for (let nl = head.indexOf('\n'); nl !== -1; nl = head.indexOf('\n', nl + 1)) {
    const next = head.charCodeAt(nl + 1);
    if (next === 0x0a || (next === 0x0d && head.charCodeAt(nl + 2) === 0x0a)) {
      return head.slice(0, nl > 0 && head.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl);
    }
  }
  return head;
}

/**
 * The first value of each wanted field (lower-case names), unfolded (RFC 5322 §2.2.3), with the
 * blanks around it removed. A bare CR ends a value, as it ends a line for the pattern this
 * replaced.
 */
function readFields(block: string, wanted: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  let current: { name: string; parts: string[] } | null = null;
  const finish = () => {
    if (current !== null && !found.has(current.name)) found.set(current.name, current.parts.join(' ').trim());
    current = null;
  };
  let start = 0;
  while (start <= block.length) {
    const nl = block.indexOf('\n', start);
    const stop = nl === -1 ? block.length : nl;
    let line = block.slice(start, stop);
    start = stop + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      // A continuation line: part of the field being read, if it is one we want.
      if (current !== null) {
        current.parts.push(withoutLeadingBlanks(upToCr(line)));
        if (line.includes('\r')) finish();
      }
      continue;
    }
    finish();
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).toLowerCase();
    if (!wanted.includes(name) || found.has(name)) continue;
    current = { name, parts: [upToCr(line.slice(colon + 1))] };
    if (line.includes('\r')) finish();
  }
  finish();
  return found;
}

function withoutLeadingBlanks(s: string): string {
  let i = 0;
  while (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09) i += 1;
  return s.slice(i);
}

function upToCr(s: string): string {
  const cr = s.indexOf('\r');
  return cr === -1 ? s : s.slice(0, cr);
}

/**
 * The first `<…>` whose content is non-empty and holds no blank or angle bracket, and (with
 * `needAt`) has an `@` with something before and after it and none in the part before it.
 * One pass: each `<` restarts the candidate, so the work is linear in the length.
 */
function firstAngle(value: string, needAt: boolean): string | null {
  let open = -1;
  let spaced = false;
  let at = -1;
  for (let i = 0; i < value.length; i += 1) {
    const c = value.charCodeAt(i);
    if (c === 0x3c /* < */) {
      open = i;
      spaced = false;
      at = -1;
    } else if (c === 0x3e /* > */) {
      if (open !== -1 && !spaced) {
        const inner = value.slice(open + 1, i);
        const ok = needAt ? at > open + 1 && at < i - 1 : inner.length > 0;
        if (ok) return inner;
      }
      open = -1;
    } else if (open !== -1) {
      if (isSpace(c)) spaced = true;
      else if (c === 0x40 /* @ */ && at === -1) at = i;
    }
  }
  return null;
}

/** The first run of characters other than blanks, `<`, `>` and `"` with an `@` inside it. */
function firstBareAddress(value: string): string | null {
  let start = 0;
  /** The first `@` after the token's first character, or -1. */
  let at = -1;
  for (let i = 0; i <= value.length; i += 1) {
    const c = i < value.length ? value.charCodeAt(i) : 0x20;
    if (isSpace(c) || c === 0x3c || c === 0x3e || c === 0x22) {
      if (at !== -1 && at < i - 1) return value.slice(start, i);
      start = i + 1;
      at = -1;
    } else if (c === 0x40 && at === -1 && i > start) at = i;
  }
  return null;
}

function hasSpace(s: string): boolean {
  for (let i = 0; i < s.length; i += 1) if (isSpace(s.charCodeAt(i))) return true;
  return false;
}

export function scanRawHeaders(raw: Buffer): RawHeaderScan {
  const head = raw.subarray(0, MAX_HEADER_BYTES).toString('latin1');
  const fields = readFields(headerBlock(head), ['message-id', 'from', 'subject']);
  const id = fields.get('message-id') ?? null;
  const from = fields.get('from') ?? null;
  const addr = from === null ? null : (firstAngle(from, true) ?? firstBareAddress(from));
  return {
    messageId: id === null ? null : (firstAngle(id, false) ?? (id !== '' && !hasSpace(id) ? id : null)),
    from: addr?.toLowerCase() ?? null,
    subject: fields.get('subject') ?? '',
  };
}

/**
 * The dead-man probe header (`X-Psirt-Probe`, #15) of a raw message as found, not authenticated;
 * null when there is none. The same bounded, linear scan as scanRawHeaders.
 */
export function scanProbeHeader(raw: Buffer): string | null {
  const head = raw.subarray(0, MAX_HEADER_BYTES).toString('latin1');
  return readFields(headerBlock(head), ['x-psirt-probe']).get('x-psirt-probe') ?? null;
}
