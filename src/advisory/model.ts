/**
 * What an advisory is made of (issue #14), shared by the staff commands that set it
 * (src/6-commands), the store that keeps it sealed (src/7-cases), the mails that carry it
 * (src/8-outbox) and the formats that render it (src/advisory: CSAF 2.0, OSV, CVE JSON 5,
 * Markdown). Pure: types, the version-range grammar and the credit rule.
 */

/** A version range as staff write it in `/affects <product> <range>`, parsed. */
export interface VersionRange {
  /** As written, e.g. `>=2.0.0,<2.4.1`. */
  text: string;
  /** Every version (`*`). */
  all: boolean;
  /** The one affected version (`=1.2.3` or `1.2.3`). */
  exact: string | null;
  /** First affected version (`>=V`); null: from the first. */
  introduced: string | null;
  /** First version no longer affected (`<V`). */
  fixed: string | null;
  /** Last affected version (`<=V`). */
  lastAffected: string | null;
}

export interface AffectedProduct {
  /** A configured `products[].id`. */
  product: string;
  range: VersionRange;
}

export interface FixedVersion {
  product: string;
  version: string;
}

/**
 * The advisory fields on a case, set by staff commands (`/title`, `/summary`, `/cwe`,
 * `/affects`, `/fixed-in`, `/ref`). Sealed at rest (`cases.advisory_sealed`): before
 * publication they describe the flaw.
 */
export interface AdvisoryFields {
  title: string | null;
  /** From the body of a `/summary` command mail (the staff member's own text). */
  summary: string | null;
  /** `CWE-787`. */
  cwe: string | null;
  affected: AffectedProduct[];
  fixed: FixedVersion[];
  /** https URLs, in the order added. */
  references: string[];
}

export const EMPTY_ADVISORY: AdvisoryFields = {
  title: null,
  summary: null,
  cwe: null,
  affected: [],
  fixed: [],
  references: [],
};

/** Limits the commands enforce. */
export const MAX_TITLE = 200;
export const MAX_SUMMARY = 8000;
export const MAX_REFERENCES = 30;
export const MAX_REASON = 200;

const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_~-]{0,63}$/;

/** Whether `v` is a version as the grammar accepts it (letters, digits, `.+_~-`, ≤ 64). */
export function isVersion(v: string): boolean {
  return VERSION.test(v);
}

/**
 * Parses `/affects` ranges: `*` (every version), `1.2.3` or `=1.2.3` (one version), `<V`,
 * `<=V`, `>=V`, and `>=A,<B` or `>=A,<=B` (comma-separated, no spaces). `>` alone is refused:
 * the formats speak of the first affected version, not the last unaffected one.
 */
export function parseRange(text: string): VersionRange | string {
  const t = text.trim();
  const base: VersionRange = {
    text: t,
    all: false,
    exact: null,
    introduced: null,
    fixed: null,
    lastAffected: null,
  };
  if (t === '*') return { ...base, all: true };
  const parts = t.split(',');
  if (parts.length > 2) return 'expects at most two comparisons, e.g. >=2.0.0,<2.4.1';
  const r = { ...base };
  for (const p of parts) {
    const m = /^(>=|<=|<|=|>)?(.*)$/.exec(p);
    const op = m?.[1] ?? '=';
    const v = m?.[2] ?? '';
    // The reason never quotes the range: it is stored in clear and the range names the flaw.
    if (!isVersion(v)) return 'expects comparisons with versions (e.g. <2.4.1 or >=2.0.0,<2.4.1)';
    if (op === '>') return 'use >= with the first affected version (> is not supported)';
    if (op === '=') {
      if (parts.length > 1) return 'an exact version stands alone';
      r.exact = v;
    } else if (op === '>=') {
      if (r.introduced !== null) return 'two lower bounds';
      r.introduced = v;
    } else {
      if (r.fixed !== null || r.lastAffected !== null) return 'two upper bounds';
      if (op === '<') r.fixed = v;
      else r.lastAffected = v;
    }
  }
  if (parts.length === 2 && r.introduced === null)
    return 'two comparisons need a lower bound (>=) and an upper one';
  return r;
}

/** One published revision (CSAF `tracking.revision_history`). */
export interface RevisionEntry {
  number: number;
  /** ISO time. */
  date: string;
  summary: string;
}

/**
 * Who the advisory credits, as the case decides it: staff overriding (with a reason) wins, then
 * the reporter's stated preference (`Credit:` line; '' = none), then what staff set with
 * `/credit`; otherwise nobody — a reporter is never named without having asked or staff
 * deciding so. Null or '' mean no acknowledgment.
 */
export function resolvedCredit(s: {
  credit: string | null;
  creditPreference: string | null;
  creditOverrideReason: string | null;
}): string | null {
  if (s.creditOverrideReason !== null) return s.credit === '' ? null : s.credit;
  if (s.creditPreference !== null) return s.creditPreference === '' ? null : s.creditPreference;
  return s.credit === '' ? null : s.credit;
}

/**
 * What every format renders from: one frozen version of the advisory (a draft sent to the
 * reporter, or a published revision), stored sealed in `advisory_versions.doc_sealed`. Product
 * details come from config when rendered (`products`), so a renamed product shows its new name.
 */
export interface AdvisorySnapshot {
  caseId: string;
  /** 'draft' (sent to the reporter, not published) or 'final' (published revision). */
  status: 'draft' | 'final';
  /** Revision number (published), or the draft number. */
  version: number;
  fields: AdvisoryFields;
  cve: string | null;
  severity: string | null;
  cvss: { vector: string; score: number } | null;
  /** The resolved credit (resolvedCredit), null for none. */
  credit: string | null;
  /** ISO time of the report (CSAF `tracking.initial_release_date` is the first publication). */
  reportedAt: string;
  /** ISO time of the first publication (/publish), null for a draft before it. */
  publishedAt: string | null;
  /** The agreed disclosure date, YYYY-MM-DD. */
  discloseOn: string | null;
  /** Where the advisory is published (/publish). */
  advisoryUrl: string | null;
  /** Published revisions up to and including this one, oldest first (empty for a first draft). */
  revisions: RevisionEntry[];
  /** ISO time this version was frozen. */
  frozenAt: string;
}
