import type { Resolution, Severity } from '../commands/grammar.js';
import type { Stage } from '../commands/lifecycle.js';

/** Types of staff-mail changes shared by the rules (rules/staff-mail.ts) and the stores. */

/** What the confirmation and status mails show of a case: metadata only, never report content. */
export interface CaseSnapshot {
  stage: Stage;
  resolution: Resolution | null;
  severity: Severity | null;
  cvssScore: number | null;
  cvssVector: string | null;
  assignee: string | null;
  onHold: boolean;
  waitingOnReporter: boolean;
  tags: string[];
  cve: string | null;
  fixDue: string | null;
  discloseOn: string | null;
  advisoryUrl: string | null;
  credit: string | null;
  duplicateOf: string | null;
}

/** An outbox row to insert; the store mints its Message-ID. */
export interface NewOutboxRow {
  caseId: string | null;
  kind: string;
  dedupeKey: string;
  recipients: string[];
  inReplyTo: string | null;
  references: string[];
  subject: string;
  payload: Record<string, unknown>;
}

export interface Actor {
  actor: string;
  auth: string | null;
}
