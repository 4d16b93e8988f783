import { ownText } from './reply-text.js';

/** The longest credit a reporter may state (it is published as written). */
export const MAX_STATED_CREDIT = 200;

/** What a reporter's `Credit:` line says: a name, '' for "none", or why it does not count. */
export type StatedCredit =
  | { kind: 'credit'; credit: string }
  | { kind: 'invalid'; reason: 'empty' | 'too-long' | 'not-printable' | 'ambiguous' };

const LINE = /^[ \t]*credit[ \t]*:(.*)$/i;
// Control, format (bidi overrides, zero-width), private-use, surrogate and unassigned code points.
const NOT_PRINTABLE = /\p{C}/u;

/**
 * The credit a reporter states in their own text (issue #14): a line `Credit: Jane Doe` or
 * `Credit: none`, in what they wrote themselves — the quoted thread (our draft among it) and the
 * signature block are removed first, with the same extraction as staff commands (ownText). One
 * line, trimmed, at most MAX_STATED_CREDIT characters, printable. Several lines that disagree are
 * ambiguous and count for nothing. Null: no such line. Pure.
 */
export function statedCredit(text: string): StatedCredit | null {
  const found: string[] = [];
  for (const line of ownText(text).split('\n')) {
    const m = LINE.exec(line);
    if (m !== null) found.push((m[1] ?? '').trim());
  }
  if (found.length === 0) return null;
  const distinct = [...new Set(found.map((f) => f.toLowerCase()))];
  if (distinct.length > 1) return { kind: 'invalid', reason: 'ambiguous' };
  const value = found[0] ?? '';
  if (value === '') return { kind: 'invalid', reason: 'empty' };
  if (value.length > MAX_STATED_CREDIT) return { kind: 'invalid', reason: 'too-long' };
  if (NOT_PRINTABLE.test(value)) return { kind: 'invalid', reason: 'not-printable' };
  return { kind: 'credit', credit: value.toLowerCase() === 'none' ? '' : value.replace(/\s+/g, ' ') };
}
