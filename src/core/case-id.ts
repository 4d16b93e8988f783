import { PsirtError } from './errors.js';

/** A case reference such as `SEC-2026-0042`. Branded so a plain string cannot stand in for it. */
export type CaseId = string & { readonly __brand: 'CaseId' };

/**
 * A parsed case-id format. The format is a template made of literal characters from
 * `[A-Za-z0-9_-]` and the tokens `{year}` and `{seq}` / `{seq:N}` (zero-padded to N digits).
 * `{seq}` is required and appears exactly once; `{year}` at most once. The restricted alphabet
 * keeps ids safe inside a subject tag `[SEC-2026-0042]` and in Message-IDs.
 */
export interface CaseIdFormat {
  readonly source: string;
  readonly hasYear: boolean;
  readonly seqWidth: number;
  format(year: number, seq: number): CaseId;
  /** A regex source (no anchors, no flags) that matches one id of this format. */
  readonly pattern: string;
}

const TOKEN = /\{(year|seq)(?::(\d+))?\}/g;
const LITERAL = /^[A-Za-z0-9_-]*$/;

/** Parses and validates a format; throws `PsirtError('invalid_case_id_format')` naming the problem. */
export function parseCaseIdFormat(source: string): CaseIdFormat {
  const fail = (why: string): never => {
    throw new PsirtError('invalid_case_id_format', why);
  };
  let years = 0;
  let seqs = 0;
  let seqWidth = 1;
  let pattern = '';
  let last = 0;
  for (const m of source.matchAll(TOKEN)) {
    const literal = source.slice(last, m.index);
    if (!LITERAL.test(literal)) fail(`only letters, digits, "-" and "_" may stand outside tokens`);
    pattern += literal;
    if (m[1] === 'year') {
      if (m[2] !== undefined) fail('{year} takes no width');
      years += 1;
      pattern += '\\d{4}';
    } else {
      seqs += 1;
      seqWidth = m[2] === undefined ? 1 : Number(m[2]);
      if (seqWidth < 1 || seqWidth > 9) fail('{seq:N} needs 1 ≤ N ≤ 9');
      pattern += `\\d{${seqWidth},}`;
    }
    last = m.index + m[0].length;
  }
  const tail = source.slice(last);
  if (!LITERAL.test(tail)) fail(`only letters, digits, "-" and "_" may stand outside tokens`);
  pattern += tail;
  if (seqs !== 1) fail('must contain {seq} (or {seq:N}) exactly once');
  if (years > 1) fail('may contain {year} at most once');
  if (source.length > 40) fail('must be at most 40 characters');
  const hasYear = years === 1;
  return {
    source,
    hasYear,
    seqWidth,
    pattern,
    format(year: number, seq: number): CaseId {
      if (!Number.isInteger(seq) || seq < 1) throw new PsirtError('invalid_case_seq', `bad sequence ${seq}`);
      return source.replace(TOKEN, (_all, token: string) =>
        token === 'year' ? String(year).padStart(4, '0') : String(seq).padStart(seqWidth, '0'),
      ) as CaseId;
    },
  };
}
