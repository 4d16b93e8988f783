import type { Clause } from '../program/types.js';
import type { ProcedureStartRow } from '../7-cases/evidence-store.js';
import type { ChainReport } from '../7-cases/events.js';
import type { CaseEvidence } from './analyse.js';
import type { SlaSummary } from './sla.js';

/** The evidence document of an audit period: evidence.json, and what report.html and index.md show. */

export interface ProgramVersion {
  configDigest: string;
  firstStartedAt: string;
  policyDigest: string;
  calendarDigest: string;
  teamFingerprint: string;
  /** Why it is in the archive: in force during the period, or the configuration at export. */
  source: 'recorded' | 'current';
  /** The files under program/<digest>/, or why they could not be rendered. */
  files: { file: string; clauses: Clause[]; title: string }[];
  error: string | null;
}

export interface EvidenceSummary {
  cases: number;
  missedStages: number;
  brokenChains: number;
  /** A break in events of no case (service-wide events). */
  serviceChainBroken: boolean;
  /** Earlier archives whose chain head no longer matches (chain.rewrittenSince). */
  rewrittenSinceArchives: number;
  noStartRecorded: boolean;
}

export interface ClauseEntry {
  clause: Clause;
  title: string;
  files: { path: string; why: string }[];
}

/** What evidence.json holds (and report.html and index.md show). */
export interface EvidenceDocument {
  format: 'psirt-evidence/1';
  period: { from: string; to: string };
  generatedAt: string;
  calendar: { zone: string; id: string };
  includeSubjects: boolean;
  summary: EvidenceSummary;
  chain: {
    events: number;
    head: ChainReport['head'];
    firstBroken: ChainReport['firstBroken'];
    brokenCases: { caseId: string; eventId: number | null; reason: string }[];
    serviceEvents: { eventId: number; reason: string } | null;
    /**
     * Earlier archives (evidence_exports) whose recorded chain head no longer has the hash it had:
     * the chain was rewritten after they were handed over, even if every link was recomputed.
     */
    rewrittenSince: { archive: string; writtenAt: string; headEventId: number; reason: string }[];
  };
  procedure: { versions: ProgramVersion[]; starts: ProcedureStartRow[]; noStartRecorded: boolean };
  index: ClauseEntry[];
  sla: SlaSummary;
  cases: CaseEvidence[];
}
