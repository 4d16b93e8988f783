/** Subject handling for mail we send. Pure. */

export const MAX_SUBJECT_CHARS = 200;

const GRAPHEMES = new Intl.Segmenter('en', { granularity: 'grapheme' });
/** Code units per grapheme a subject is segmented over at most (long emoji sequences fit). */
const GRAPHEME_WINDOW = 16;

/**
 * Makes slash commands in someone else's words inert: `/reply` becomes `∕reply` (U+2215, which
 * the command grammar does not read). A reporter's subject is copied into the mail staff reply
 * to; without this, "Upload bypass /reply" would turn a staff member's ordinary signed reply
 * into a command that sends their internal note to the reporter.
 */
export function inertCommands(text: string): string {
  return text.replace(/(^|\s)\/(?=[A-Za-z][A-Za-z-]*(\s|$))/g, '$1\u2215');
}

/**
 * A subject safe to put in any header we write: control characters (CR, LF, NUL, …) become
 * spaces, runs of white space collapse, slash commands become inert, and it is capped (with an
 * ellipsis) so a 10,000-character subject cannot bloat or break our mail. Header injection is
 * impossible without CR/LF.
 */
export function sanitizeSubject(subject: string, max = MAX_SUBJECT_CHARS): string {
  const flat = inertCommands(subject)
    // eslint-disable-next-line no-control-regex -- removing control characters is the point
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')
    // Bidi controls can visually reorder a subject in a mail client or a terminal (Trojan Source).
    .replace(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  // Each grapheme is at least one code unit: a short subject needs no segmenting.
  if (flat.length <= max) return flat;
  // Cut on grapheme boundaries so an emoji or a combining sequence is never split in half.
  // NB! Intl.Segmenter's iterator costs time in the length of the whole string per step (#10:
  // 200 KB took 136 s), so only a window the cap can use is segmented, and only up to the cap.
  const window = flat.slice(0, max * GRAPHEME_WINDOW);
  const graphemes: string[] = [];
  for (const g of GRAPHEMES.segment(window)) {
    graphemes.push(g.segment);
    if (graphemes.length > max) break;
  }
  if (graphemes.length <= max && window.length === flat.length) return flat;
  // When the window cut the text, its last grapheme may be cut too: never keep that one.
  const keep = Math.min(max - 1, window.length < flat.length ? graphemes.length - 1 : graphemes.length);
  return `${graphemes.slice(0, keep).join('').trimEnd()}…`;
}

/** Strips leading reply/forward prefixes (Re:, AW:, Fwd:, …) and any of our case tags. */
export function baseSubject(subject: string, idPattern: string): string {
  let s = subject.replace(new RegExp(`\\[(${idPattern})\\]`, 'g'), ' ');
  for (;;) {
    const next = s.replace(/^\s*(re|aw|sv|vs|antw|fwd?|wg|tr)\s*(\[\d+\])?\s*:\s*/i, '');
    if (next === s) break;
    s = next;
  }
  return sanitizeSubject(s);
}

/** `Re: [SEC-2026-0042] original subject`, sanitised and capped. */
export function replySubject(caseId: string, original: string, idPattern: string): string {
  const base = baseSubject(original, idPattern);
  return sanitizeSubject(`Re: [${caseId}] ${base === '' ? '(no subject)' : base}`);
}

/**
 * What stands for the subject of a protected report (one that arrived encrypted or with
 * protected headers) wherever a subject is stored or shown in clear: the case row, outbox rows,
 * clear headers. The real one stays inside the stored, encrypted mail (decision 0005).
 */
export const PROTECTED_SUBJECT = '...';

/** True when a report's subject must never be written in clear (decision 0005). */
export function isProtectedReport(report: {
  encryption: { state: string };
  protectedHeaders: object | null;
}): boolean {
  return report.encryption.state !== 'none' || report.protectedHeaders !== null;
}

/**
 * The outer `Subject:` of an encrypted mail (RFC 9788 header protection): the case tag alone,
 * keeping a leading `Re:` so threading and staff filters still work — `Re: [SEC-2026-0001] ...`.
 */
export function neutralSubject(subject: string, caseId: string | null): string {
  const re = /^\s*re\s*:/i.test(subject) ? 'Re: ' : '';
  return caseId === null ? `${re}${PROTECTED_SUBJECT}` : `${re}[${caseId}] ${PROTECTED_SUBJECT}`;
}

/**
 * The inner subject of a mail about a protected report: a subject built around
 * PROTECTED_SUBJECT gets the real one (already decrypted by the caller) in its place.
 */
export function withRealSubject(subject: string, real: string, idPattern: string): string {
  if (!subject.endsWith(PROTECTED_SUBJECT)) return subject;
  const base = baseSubject(real, idPattern);
  if (base === '') return subject;
  return sanitizeSubject(`${subject.slice(0, -PROTECTED_SUBJECT.length)}${base}`);
}
