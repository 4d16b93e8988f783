/** An ASCII-armored OpenPGP block found in a text body (RFC 9580 §6.2). */
export interface ArmorBlock {
  kind: 'message' | 'cleartext' | 'public-key' | 'secret-key';
  /** Offsets into the text: [start, end). */
  start: number;
  end: number;
  /** The block itself, armor lines included, with LF line ends. */
  armored: string;
}

const KINDS: Readonly<Record<string, ArmorBlock['kind']>> = {
  MESSAGE: 'message',
  'SIGNED MESSAGE': 'cleartext',
  'PUBLIC KEY BLOCK': 'public-key',
  'PRIVATE KEY BLOCK': 'secret-key',
};

/** The END line each BEGIN line must close with (a clear-signed text ends with its signature). */
const ENDS: Readonly<Record<string, string>> = {
  MESSAGE: 'MESSAGE',
  'SIGNED MESSAGE': 'SIGNATURE',
  'PUBLIC KEY BLOCK': 'PUBLIC KEY BLOCK',
  'PRIVATE KEY BLOCK': 'PRIVATE KEY BLOCK',
};

const BEGIN = '-----BEGIN PGP ';
const END = '-----END PGP ';
const DASHES = '-----';

/** True when `at` starts a line: the text's start or after a line break (as `^` with /m). */
function atLineStart(text: string, at: number): boolean {
  if (at === 0) return true;
  const c = text.charCodeAt(at - 1);
  return c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;
}

/** The label of `-----<prefix>LABEL-----` at `at` (one of `labels`) and where it ends, or null. */
function labelAt(
  text: string,
  at: number,
  prefix: string,
  labels: readonly string[],
): { label: string; next: number } | null {
  if (!text.startsWith(prefix, at)) return null;
  const from = at + prefix.length;
  for (const label of labels) {
    if (text.startsWith(label, from) && text.startsWith(DASHES, from + label.length))
      return { label, next: from + label.length + DASHES.length };
  }
  return null;
}

/** Past the blanks (space, tab) from `at`. */
function skipBlanks(text: string, at: number): number {
  let i = at;
  while (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09) i += 1;
  return i;
}

/** True when `at` ends a line: the text's end or a line break (as `$` with /m). */
function atLineEnd(text: string, at: number): boolean {
  if (at >= text.length) return true;
  const c = text.charCodeAt(at);
  return c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;
}

/**
 * The first END line at or after `from`: `-----END PGP LABEL-----` at a line start, blanks only
 * after it. Returns its label and where the line's text ends (before the line break).
 */
function findEndLine(text: string, from: number): { label: string; end: number } | null {
  for (let at = text.indexOf(END, from); at !== -1; at = text.indexOf(END, at + 1)) {
    if (!atLineStart(text, at)) continue;
    const found = labelAt(text, at, END, END_LABELS);
    if (found === null) continue;
    const end = skipBlanks(text, found.next);
    if (atLineEnd(text, end)) return { label: found.label, end };
  }
  return null;
}

const BEGIN_LABELS = Object.keys(KINDS);
const END_LABELS = [...new Set(Object.values(ENDS))];

/**
 * Every complete armored block in `text`, in order. Blocks must start and end on line starts;
 * a block runs from its BEGIN line to the first END line after it, and counts only when that
 * END line is the one its BEGIN line asks for.
 *
 * NB! One pass with indexOf (DESIGN.md invariant 8): a body of thousands of BEGIN lines without
 * an END made the lazy pattern this replaced rescan the rest of the text for each of them.
 */
export function findArmorBlocks(text: string): ArmorBlock[] {
  const out: ArmorBlock[] = [];
  let pos = 0;
  for (;;) {
    const at = text.indexOf(BEGIN, pos);
    if (at === -1) break;
    pos = at + 1;
    if (!atLineStart(text, at)) continue;
    const begin = labelAt(text, at, BEGIN, BEGIN_LABELS);
    if (begin === null) continue;
    let nl = skipBlanks(text, begin.next);
    if (text.charCodeAt(nl) === 0x0d) nl += 1;
    if (text.charCodeAt(nl) !== 0x0a) continue;
    const endLine = findEndLine(text, nl + 1);
    // No END line after this BEGIN means none after any later BEGIN either.
    if (endLine === null) break;
    pos = endLine.end;
    const kind = KINDS[begin.label];
    if (kind === undefined || ENDS[begin.label] !== endLine.label) continue;
    out.push({
      kind,
      start: at,
      end: endLine.end,
      armored: text.slice(at, endLine.end).replace(/\r\n/g, '\n'),
    });
  }
  return out;
}
