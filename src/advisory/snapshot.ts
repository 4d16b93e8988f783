import { resolvedCredit, type AdvisoryFields, type AdvisorySnapshot, type RevisionEntry } from './model.js';

/** What a snapshot is frozen from: the case as the commands left it (src/6-commands CaseState). */
export interface SnapshotSource {
  id: string;
  advisory: AdvisoryFields;
  cve: string | null;
  severity: string | null;
  cvssVector: string | null;
  cvssScore: number | null;
  credit: string | null;
  creditPreference: string | null;
  creditOverrideReason: string | null;
  publishedAt: string | null;
  discloseOn: string | null;
  advisoryUrl: string | null;
}

/**
 * Freezes one version of the advisory (issue #14): a draft for the reporter, or a published
 * revision with the history up to it. Pure; `history` is the published revisions before this
 * one, oldest first; `revision` is this one when it is a revision.
 */
export function freezeSnapshot(
  s: SnapshotSource,
  o: {
    reportedAt: string;
    status: 'draft' | 'final';
    version: number;
    history: readonly RevisionEntry[];
    revision?: RevisionEntry;
    at: string;
  },
): AdvisorySnapshot {
  return {
    caseId: s.id,
    status: o.status,
    version: o.version,
    fields: structuredClone(s.advisory),
    cve: s.cve,
    severity: s.severity,
    cvss: s.cvssVector === null || s.cvssScore === null ? null : { vector: s.cvssVector, score: s.cvssScore },
    credit: resolvedCredit(s),
    reportedAt: o.reportedAt,
    publishedAt: s.publishedAt,
    discloseOn: s.discloseOn,
    advisoryUrl: s.advisoryUrl,
    revisions: o.revision === undefined ? [...o.history] : [...o.history, o.revision],
    frozenAt: o.at,
  };
}
