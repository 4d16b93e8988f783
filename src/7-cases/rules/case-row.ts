import type { Resolution, Severity } from '../../6-commands/grammar.js';
import type { Stage } from '../../6-commands/lifecycle.js';
import type { CaseState } from '../../6-commands/plan.js';
import type { CaseFacts } from '../../policy/deadlines.js';
import { EMPTY_ADVISORY, type AdvisoryFields } from '../../advisory/model.js';

/** A `cases` row as SQLite returns it (the columns the rules read). */
export interface CaseRow {
  id: string;
  stage: Stage;
  resolution: Resolution | null;
  severity: Severity | null;
  cvss_vector: string | null;
  cvss_score: number | null;
  assignee: string | null;
  on_hold: number;
  /** The legal hold (migration 0015): why, since when, by whom. */
  hold_reason: string | null;
  held_at: string | null;
  held_by: string | null;
  waiting_on_reporter: number;
  tags: string;
  cve: string | null;
  fix_by: string | null;
  disclose_on: string | null;
  advisory_url: string | null;
  credit: string | null;
  external: string;
  reporter_address: string;
  subject: string;
  /** JSON array of CaseFlag. */
  flags: string;
  created_at: string;
  closed_at: string | null;
  reopened_at: string | null;
  triaged_at: string | null;
  verified_at: string | null;
  fixed_at: string | null;
  published_at: string | null;
  /** Issue #14 (migration 0016): the reporter's stated credit, staff's override, the draft. */
  credit_preference: string | null;
  credit_override_reason: string | null;
  draft_sent_at: string | null;
  no_draft_reason: string | null;
  /** The sealed advisory fields (opened by src/7-cases/advisory-store.ts). */
  advisory_sealed: Uint8Array | null;
}

/**
 * The case as the commands see it. `advisory` (opened from `cases.advisory_sealed`) and
 * `revisions` (published `advisory_versions`) are read by the store beside the row.
 */
export function toState(r: CaseRow, advisory: AdvisoryFields = EMPTY_ADVISORY, revisions = 0): CaseState {
  return {
    id: r.id,
    stage: r.stage,
    resolution: r.resolution,
    severity: r.severity,
    cvssVector: r.cvss_vector,
    cvssScore: r.cvss_score,
    assignee: r.assignee,
    onHold: r.on_hold === 1,
    holdReason: r.hold_reason,
    heldAt: r.held_at,
    heldBy: r.held_by,
    waitingOnReporter: r.waiting_on_reporter === 1,
    tags: JSON.parse(r.tags) as string[],
    cve: r.cve,
    fixBy: r.fix_by,
    discloseOn: r.disclose_on,
    advisoryUrl: r.advisory_url,
    credit: r.credit,
    external: JSON.parse(r.external) as string[],
    reporterAddress: r.reporter_address,
    closedAt: r.closed_at,
    reopenedAt: r.reopened_at,
    triagedAt: r.triaged_at,
    verifiedAt: r.verified_at,
    fixedAt: r.fixed_at,
    publishedAt: r.published_at,
    advisory,
    creditPreference: r.credit_preference,
    creditOverrideReason: r.credit_override_reason,
    draftSentAt: r.draft_sent_at,
    noDraftReason: r.no_draft_reason,
    revisions,
  };
}

/** A case just opened, as the table's column defaults make it (migrations 0001, 0009). */
export function openedState(id: string, reporterAddress: string): CaseState {
  return {
    id,
    stage: 'received',
    resolution: null,
    severity: null,
    cvssVector: null,
    cvssScore: null,
    assignee: null,
    onHold: false,
    holdReason: null,
    heldAt: null,
    heldBy: null,
    waitingOnReporter: false,
    tags: [],
    cve: null,
    fixBy: null,
    discloseOn: null,
    advisoryUrl: null,
    credit: null,
    external: [],
    reporterAddress,
    closedAt: null,
    reopenedAt: null,
    triagedAt: null,
    verifiedAt: null,
    fixedAt: null,
    publishedAt: null,
    advisory: EMPTY_ADVISORY,
    creditPreference: null,
    creditOverrideReason: null,
    draftSentAt: null,
    noDraftReason: null,
    revisions: 0,
  };
}

const date = (s: string | null): Date | null => (s === null ? null : new Date(s));

export function factsOf(s: CaseState, createdAt: string, pauses: CaseFacts['pauses']): CaseFacts {
  return {
    createdAt: new Date(createdAt),
    reopenedAt: date(s.reopenedAt),
    closedAt: date(s.closedAt),
    severity: s.severity,
    fixBy: s.fixBy,
    discloseOn: s.discloseOn,
    triagedAt: date(s.triagedAt),
    verifiedAt: date(s.verifiedAt),
    fixedAt: date(s.fixedAt),
    publishedAt: date(s.publishedAt),
    pauses,
  };
}
