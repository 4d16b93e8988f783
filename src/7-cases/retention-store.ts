import type { Clock } from '../core/clock.js';
import type { RetentionCandidate, RetentionVerdict } from '../policy/retention.js';
import type { Db } from './db.js';
import { appendEvent } from './events.js';
import { PROTECTED_SUBJECT } from './subject.js';

/**
 * The SQL of the retention purge (issue #13). What a purge removes and what the tombstone keeps:
 *   - messages of the case: raw → X'' (an empty blob keeps the raw/raw_path CHECK), raw_path →
 *     NULL (the spool file is deleted after the commit by the caller), message_id and sender →
 *     NULL, purged_at set. The row stays: command_signatures and reporter_keys reference it, and
 *     its sha256 still recognises a re-delivery of the same bytes;
 *   - outbox rows of the case: recipients '[]', subject '', payload '{}', in_reply_to, refs and
 *     last_error NULL; a row never sent is marked failed (nothing is left to send). message_id
 *     stays (it is ours, and unique);
 *   - the case row: subject → the placeholder, subject_sealed, reporter_name, credit, hold_reason
 *     → NULL, reporter_address → ''; id, dates, stage, resolution, severity, CVSS, CVE, advisory
 *     URL, tags and deadlines stay;
 *   - reporter_keys of an address no unpurged case uses any more (as reporter or sender): deleted;
 *   - a final `case.purged` event on the case's chain (counts and dates, never content).
 * NB! The purging connection must have `secure_delete` on (`preparePurgeConnection`) and the run
 * must end with `compactAfterPurge`, so removed bytes linger neither in free pages nor the WAL.
 * The event log itself is append-only: actors of earlier events (`reporter:<address>`) stay.
 */

/** Fixed marker of a purged case's reporter address (the column is NOT NULL). */
export const PURGED_ADDRESS = '';

/**
 * Whether the case's own hash-chained history holds it: its latest `case.hold` event put it on
 * hold. A hold counts when the row OR the event log says so — a row edited in a copied
 * database (on_hold = 0) does not lift a legal hold the chain records (review of #13).
 */
const HELD_IN_EVENTS = `coalesce((SELECT json_extract(e.data, '$.onHold') FROM events e
    WHERE e.case_id = cases.id AND e.type = 'case.hold' ORDER BY e.id DESC LIMIT 1), 0) = 1`;

/** Every closed, unpurged case closed at or before `bound` (the policy decides which are due). */
export function readRetentionCandidates(db: Db, bound: Date): RetentionCandidate[] {
  return (
    db
      .prepare(
        `SELECT id, closed_at, resolution, (on_hold = 1 OR ${HELD_IN_EVENTS}) AS on_hold FROM cases
         WHERE stage = 'closed' AND purged_at IS NULL AND closed_at IS NOT NULL AND closed_at <= ?
         ORDER BY closed_at, id`,
      )
      .all(bound.toISOString()) as {
      id: string;
      closed_at: string;
      resolution: string | null;
      on_hold: number;
    }[]
  ).map((r) => ({ id: r.id, closedAt: r.closed_at, resolution: r.resolution, onHold: r.on_hold === 1 }));
}

/** What one case's purge removed (counts for the event and the log; paths for the caller). */
export interface PurgedCase {
  caseId: string;
  messages: number;
  outboxRows: number;
  reporterKeys: number;
  /** Spool files of the case's messages, to delete after the commit. */
  spoolFiles: string[];
}

/**
 * Purges one case in one IMMEDIATE transaction, or returns null when it is no longer due: it was
 * purged meanwhile, put on hold, reopened, or closed again later (the selection is re-checked
 * inside the transaction, so a hold set during a run is never overrun).
 */
export function purgeCase(
  db: Db,
  clock: Clock,
  verdict: Pick<RetentionVerdict, 'id' | 'closedAt' | 'keepUntil'>,
  years: number,
): PurgedCase | null {
  return db
    .transaction((): PurgedCase | null => {
      const c = db
        .prepare(
          `SELECT reporter_address FROM cases
           WHERE id = ? AND stage = 'closed' AND purged_at IS NULL AND on_hold = 0 AND NOT (${HELD_IN_EVENTS})
             AND closed_at = ?`,
        )
        .get(verdict.id, verdict.closedAt) as { reporter_address: string } | undefined;
      if (c === undefined) return null;
      const at = clock.now().toISOString();
      const senders = (
        db
          .prepare('SELECT DISTINCT sender FROM messages WHERE case_id = ? AND sender IS NOT NULL')
          .all(verdict.id) as { sender: string }[]
      ).map((r) => r.sender);
      const spoolFiles = (
        db
          .prepare('SELECT raw_path FROM messages WHERE case_id = ? AND raw_path IS NOT NULL')
          .all(verdict.id) as { raw_path: string }[]
      ).map((r) => r.raw_path);
      const messages = db
        .prepare(
          `UPDATE messages SET raw = X'', raw_path = NULL, message_id = NULL, sender = NULL, purged_at = ?
           WHERE case_id = ? AND purged_at IS NULL`,
        )
        .run(at, verdict.id).changes;
      const outboxRows = db
        .prepare(
          `UPDATE outbox SET recipients = '[]', subject = '', payload = '{}', in_reply_to = NULL, refs = NULL,
                  last_error = NULL,
                  state = CASE WHEN state IN ('pending', 'sending') THEN 'failed' ELSE state END
           WHERE case_id = ?`,
        )
        .run(verdict.id).changes;
      db.prepare(
        `UPDATE cases SET subject = ?, subject_sealed = NULL, reporter_address = ?, reporter_name = NULL,
                credit = NULL, hold_reason = NULL, purged_at = ?, updated_at = ?
         WHERE id = ?`,
      ).run(PROTECTED_SUBJECT, PURGED_ADDRESS, at, at, verdict.id);
      let reporterKeys = 0;
      const dropKeys = db.prepare(
        `DELETE FROM reporter_keys WHERE address = @address
           AND NOT EXISTS (SELECT 1 FROM cases WHERE reporter_address = @address AND purged_at IS NULL)
           AND NOT EXISTS (SELECT 1 FROM messages m JOIN cases k ON k.id = m.case_id
                           WHERE m.sender = @address AND k.purged_at IS NULL)`,
      );
      for (const address of new Set([c.reporter_address, ...senders])) {
        if (address === '') continue;
        reporterKeys += dropKeys.run({ address }).changes;
      }
      appendEvent(db, clock, {
        caseId: verdict.id,
        type: 'case.purged',
        actor: 'system',
        data: {
          policyYears: years,
          closedAt: verdict.closedAt,
          keptUntil: verdict.keepUntil,
          messages,
          outboxRows,
          spoolFiles: spoolFiles.length,
          reporterKeys,
        },
      });
      return { caseId: verdict.id, messages, outboxRows, reporterKeys, spoolFiles };
    })
    .immediate();
}

/** Counts of one run, recorded as the service-wide `retention.ran` event (no case ids, no content). */
export interface RetentionRunSummary {
  policyYears: number;
  purged: number;
  held: number;
  messages: number;
  outboxRows: number;
  spoolFiles: number;
  orphanFiles: number;
}

/** Records a finished run (the catch-up after downtime reads it: `lastRetentionRun`). */
export function recordRetentionRun(db: Db, clock: Clock, summary: RetentionRunSummary): void {
  db.transaction(() => {
    appendEvent(db, clock, {
      caseId: null,
      type: 'retention.ran',
      actor: 'system',
      data: { ...summary },
    });
  }).immediate();
}

/** When the last run finished, or null when none ever did. */
export function lastRetentionRun(db: Db): Date | null {
  const row = db
    .prepare(
      "SELECT at FROM events WHERE case_id IS NULL AND type = 'retention.ran' ORDER BY id DESC LIMIT 1",
    )
    .get() as { at: string } | undefined;
  return row === undefined ? null : new Date(row.at);
}

/**
 * Of these spool file digests (the file name is `<sha256>.<ext>`), those whose message row was
 * purged: files a crash between the commit and the deletion left behind.
 */
export function purgedDigests(db: Db, digests: readonly string[]): string[] {
  const q = db.prepare('SELECT 1 FROM messages WHERE sha256 = ? AND purged_at IS NOT NULL');
  return digests.filter((d) => q.get(d) !== undefined);
}

/** The ids of cases a purge made a tombstone of, among `ids`. */
export function purgedCaseIds(db: Db, ids: readonly string[]): Set<string> {
  const q = db.prepare('SELECT 1 FROM cases WHERE id = ? AND purged_at IS NOT NULL');
  return new Set(ids.filter((id) => q.get(id) !== undefined));
}

/** Turns on `secure_delete` for this connection: freed pages and cells are overwritten with zeros. */
export function preparePurgeConnection(db: Db): void {
  db.pragma('secure_delete = ON');
}

/**
 * After a run that purged something: rebuilds the database file (VACUUM), so no page keeps an
 * earlier copy of purged content — secure_delete zeroes only what the purge itself frees, while
 * older copies (a row rewritten by the intake before, cells moved when a page split) may still
 * sit in free space; then copies the WAL into the database and truncates it to zero bytes, so the
 * frames that held purged bytes are gone too. `busy` when a reader kept the checkpoint from
 * completing (the next run retries). VACUUM holds the write lock while it runs: other writers wait
 * (busy_timeout) or retry, as they do for any long transaction.
 */
export function compactAfterPurge(db: Db, opts: { vacuum: boolean }): { busy: boolean } {
  if (opts.vacuum) db.exec('VACUUM');
  const rows = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
  return { busy: (rows[0]?.busy ?? 0) !== 0 };
}
