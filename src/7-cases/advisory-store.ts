import {
  EMPTY_ADVISORY,
  type AdvisoryFields,
  type AdvisorySnapshot,
  type RevisionEntry,
} from '../advisory/model.js';
import { freezeSnapshot } from '../advisory/snapshot.js';
import { sealedKeyId, type Vault } from '../core/vault.js';
import type { Db } from './db.js';
import { loadCaseRow } from './deadline-store.js';
import { toState } from './rules/case-row.js';
import type { NewAdvisoryVersion } from './rules/change.js';
import type { CustomerFacts } from './rules/customers.js';

export type { NewAdvisoryVersion } from './rules/change.js';

/**
 * The advisory at rest (issue #14): the fields on the case (`cases.advisory_sealed`, sealed:
 * before publication they describe the flaw) and the frozen versions (`advisory_versions`): each
 * draft sent to the reporter and each published revision, sealed, so that a retried mail or a
 * format rendered later shows exactly that version.
 */

export function sealAdvisory(vault: Vault, fields: AdvisoryFields): Buffer {
  return vault.seal(JSON.stringify(fields), 'cases.advisory');
}

/** Opens `cases.advisory_sealed`; EMPTY_ADVISORY when the case has none yet. */
export function openAdvisory(vault: Vault, sealed: Uint8Array | null): AdvisoryFields {
  if (sealed === null) return EMPTY_ADVISORY;
  const parsed = JSON.parse(vault.openText(sealed, 'cases.advisory')) as Partial<AdvisoryFields>;
  return { ...EMPTY_ADVISORY, ...parsed };
}

/** The case's sealed advisory fields, opened. */
export function readAdvisoryFields(db: Db, vault: Vault, caseId: string): AdvisoryFields {
  const row = db.prepare('SELECT advisory_sealed FROM cases WHERE id = ?').get(caseId) as
    { advisory_sealed: Uint8Array | null } | undefined;
  return openAdvisory(vault, row?.advisory_sealed ?? null);
}

/** The published revisions of a case, oldest first (CSAF tracking.revision_history). */
export function readRevisionHistory(db: Db, caseId: string): RevisionEntry[] {
  return (
    db
      .prepare(
        `SELECT number, created_at AS date, summary FROM advisory_versions
         WHERE case_id = ? AND kind = 'revision' ORDER BY number`,
      )
      .all(caseId) as RevisionEntry[]
  ).map((r) => ({ number: r.number, date: r.date, summary: r.summary }));
}

/** Writes a frozen version inside the caller's transaction; returns its row id. */

/** How many drafts the case has sent (the next one is this + 1). */
export function countDrafts(db: Db, caseId: string): number {
  return (
    db
      .prepare("SELECT count(*) AS n FROM advisory_versions WHERE case_id = ? AND kind = 'draft'")
      .get(caseId) as {
      n: number;
    }
  ).n;
}

export function writeAdvisoryVersion(db: Db, vault: Vault, v: NewAdvisoryVersion, at: string): number {
  const r = db
    .prepare(
      `INSERT INTO advisory_versions (case_id, kind, number, created_at, created_by, summary, doc_sealed)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      v.caseId,
      v.kind,
      v.number,
      at,
      v.by,
      v.summary,
      vault.seal(JSON.stringify(v.snapshot), 'advisory.doc'),
    );
  return Number(r.lastInsertRowid);
}

/** One frozen version, opened; null when the case has no such version. */
export function readAdvisoryVersion(
  db: Db,
  vault: Vault,
  caseId: string,
  kind: 'draft' | 'revision',
  number: number | 'latest',
): AdvisorySnapshot | null {
  const row = (
    number === 'latest'
      ? db
          .prepare(
            'SELECT doc_sealed FROM advisory_versions WHERE case_id = ? AND kind = ? ORDER BY number DESC LIMIT 1',
          )
          .get(caseId, kind)
      : db
          .prepare('SELECT doc_sealed FROM advisory_versions WHERE case_id = ? AND kind = ? AND number = ?')
          .get(caseId, kind, number)
  ) as { doc_sealed: Uint8Array } | undefined;
  if (row === undefined) return null;
  return JSON.parse(vault.openText(row.doc_sealed, 'advisory.doc')) as AdvisorySnapshot;
}

/**
 * The advisory as the case stands now (for `psirt advisory` before or between revisions): the
 * current fields, with the published history; status `final` once published. Null: no case.
 */
export function currentAdvisory(db: Db, vault: Vault, caseId: string, at: string): AdvisorySnapshot | null {
  const row = loadCaseRow(db, caseId);
  if (row === null) return null;
  const history = readRevisionHistory(db, caseId);
  const state = toState(row, readAdvisoryFields(db, vault, caseId), history.length);
  return freezeSnapshot(state, {
    reportedAt: row.created_at,
    status: history.length > 0 ? 'final' : 'draft',
    version: history.length,
    history,
    at,
  });
}

/**
 * How an advisory draft can reach the reporter (PlanContext.reporterDraft): encrypted to the key
 * pinned for their address; else in clear only when their report itself came in clear (the
 * message's stored verdict says it was not encrypted).
 */
export function readDraftChannel(
  db: Db,
  reporter: string,
  reportRowId: number | null,
): 'encrypted' | 'clear-report' | 'no-key' {
  if (reporter === '') return 'no-key';
  const pinned = db
    .prepare("SELECT 1 FROM reporter_keys WHERE address = ? AND status = 'pinned' LIMIT 1")
    .get(reporter.toLowerCase());
  if (pinned !== undefined) return 'encrypted';
  if (reportRowId === null) return 'no-key';
  const row = db.prepare('SELECT verdict FROM messages WHERE id = ?').get(reportRowId) as
    { verdict: string | null } | undefined;
  if (row?.verdict == null) return 'no-key';
  const verdict = JSON.parse(row.verdict) as { encryption?: { state?: string } };
  return verdict.encryption?.state === 'none' ? 'clear-report' : 'no-key';
}

/**
 * What `psirt cases show` says of a case's advisory (issue #14): the fields opened when the
 * vault can (the passphrase), 'sealed' when it cannot, null when the case has none; the drafts
 * and revisions frozen (numbers, dates, who; never their text).
 */
export interface AdvisoryShow {
  fields: AdvisoryFields | 'sealed' | null;
  versions: {
    kind: 'draft' | 'revision';
    number: number;
    created_at: string;
    created_by: string;
    summary: string;
  }[];
}

export function readAdvisoryShow(db: Db, vault: Vault, caseId: string): AdvisoryShow {
  const row = db.prepare('SELECT advisory_sealed FROM cases WHERE id = ?').get(caseId) as
    { advisory_sealed: Uint8Array | null } | undefined;
  const sealed = row?.advisory_sealed ?? null;
  const id = sealed === null ? null : sealedKeyId(sealed);
  const fields =
    sealed === null ? null : id === null || !vault.canOpen(id) ? 'sealed' : openAdvisory(vault, sealed);
  const versions = db
    .prepare(
      `SELECT kind, number, created_at, created_by, summary FROM advisory_versions
       WHERE case_id = ? ORDER BY created_at, id`,
    )
    .all(caseId) as AdvisoryShow['versions'];
  return { fields, versions };
}

/** Who was told of which revision of a case (`customer_notifications`), and the last revision's products. */
export function readCustomerFacts(db: Db, vault: Vault, caseId: string): CustomerFacts {
  const told = db
    .prepare('SELECT customer, revision FROM customer_notifications WHERE case_id = ? ORDER BY id')
    .all(caseId) as { customer: string; revision: number }[];
  const latest = readAdvisoryVersion(db, vault, caseId, 'revision', 'latest');
  return {
    told: told.map((t) => ({ customer: t.customer, revision: t.revision })),
    latestRevisionProducts: latest === null ? [] : latest.fields.affected.map((a) => a.product),
  };
}

/** One customer told of one revision, for the evidence pack. */
export interface CustomerNotificationRow {
  customer: string;
  address: string;
  revision: number;
  encrypted: boolean;
  queuedAt: string;
  queuedBy: string;
  /** When the mail was accepted by the SMTP server; null while not sent. */
  sentAt: string | null;
  /** The outbox row's state (`pending`, `sending`, `sent`, `failed`), null without one. */
  state: string | null;
}

/** Every customer notification of a case, oldest first (the evidence pack). */
export function readCustomerNotifications(db: Db, caseId: string): CustomerNotificationRow[] {
  return (
    db
      .prepare(
        `SELECT n.customer, n.address, n.revision, n.encrypted, n.queued_at, n.queued_by, o.sent_at, o.state
         FROM customer_notifications n LEFT JOIN outbox o ON o.id = n.outbox_id
         WHERE n.case_id = ? ORDER BY n.id`,
      )
      .all(caseId) as {
      customer: string;
      address: string;
      revision: number;
      encrypted: number;
      queued_at: string;
      queued_by: string;
      sent_at: string | null;
      state: string | null;
    }[]
  ).map((r) => ({
    customer: r.customer,
    address: r.address,
    revision: r.revision,
    encrypted: r.encrypted === 1,
    queuedAt: r.queued_at,
    queuedBy: r.queued_by,
    sentAt: r.sent_at,
    state: r.state,
  }));
}
