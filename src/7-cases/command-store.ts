import type { OutboxPayload } from '../8-outbox/kinds/index.js';

/** Types of staff-mail changes shared by the rules (rules/staff-mail.ts) and the stores. */

/** An outbox row to insert; the store mints its Message-ID. */
export interface NewOutboxRow {
  caseId: string | null;
  kind: string;
  dedupeKey: string;
  recipients: string[];
  inReplyTo: string | null;
  references: string[];
  subject: string;
  payload: OutboxPayload;
}

export interface Actor {
  actor: string;
  auth: string | null;
}
