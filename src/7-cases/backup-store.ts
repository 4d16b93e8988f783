import Database from 'better-sqlite3';
import type { Clock } from '../core/clock.js';
import type { Db } from './db.js';
import { appendEvent } from './events.js';
import { appliedMigrations } from './migrate.js';

/**
 * The SQL of `psirt backup` / `psirt restore` (#13) and of the intake's recovery after a restore.
 * A restore and the end of its mailbox recovery are events of no case in the hash chain, so the
 * record of a restore is as tamper-evident as every other change (invariant 7) and needs no table.
 */

/** Event types (service-wide: case_id NULL). */
export const RESTORED_EVENT = 'service.restored';
export const RECOVERED_EVENT = 'intake.restore-recovered';

/**
 * A backup copy or a database being restored, opened without WAL: the copy stays one
 * self-contained file (no -wal/-shm beside it), and a read-only open writes nothing at all.
 */
export function openCopy(path: string, options: { readonly: boolean }): Db {
  const db = new Database(path, { readonly: options.readonly, fileMustExist: true, timeout: 10_000 });
  db.pragma('foreign_keys = ON');
  return db;
}

/** Online backup of `db` into `dest` (a new file), pages copied in steps; `onStep` sees progress. */
export async function copyDatabase(
  db: Db,
  dest: string,
  onStep: (copied: number, total: number) => void,
): Promise<void> {
  let restarts = 0;
  let lastRemaining = Number.POSITIVE_INFINITY;
  await db.backup(dest, {
    progress: ({ totalPages, remainingPages }) => {
      // A write by another connection restarts the copy (SQLite backup API): after one restart,
      // copy the rest in a single step so a busy service cannot starve the backup.
      if (remainingPages > lastRemaining) restarts += 1;
      lastRemaining = remainingPages;
      onStep(totalPages - remainingPages, totalPages);
      return restarts > 0 ? totalPages : 2048;
    },
  });
  // The copy carries the live file's WAL mode in its header: make it a rollback-journal file.
  const copy = openCopy(dest, { readonly: false });
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
}

/** `PRAGMA quick_check` of a copy: null when it is sound, otherwise SQLite's first complaint. */
export function quickCheck(db: Db): string | null {
  const rows = db.pragma('quick_check') as { quick_check: string }[];
  const first = rows[0]?.quick_check ?? 'no answer';
  return first === 'ok' ? null : first;
}

/** A message whose raw bytes are a spool file. */
export interface SpoolReference {
  rowId: number;
  rawPath: string;
}

export function spoolReferences(db: Db): SpoolReference[] {
  return (
    db.prepare('SELECT id, raw_path FROM messages WHERE raw_path IS NOT NULL ORDER BY id').all() as {
      id: number;
      raw_path: string;
    }[]
  ).map((r) => ({ rowId: r.id, rawPath: r.raw_path }));
}

/**
 * Whether the live database still needs this spool file: the row exists, is not purged and still
 * names the file. False means the retention job purged it after the backup copied the database.
 */
export function stillSpooled(db: Db, ref: SpoolReference): boolean {
  const row = db.prepare('SELECT raw_path, purged_at FROM messages WHERE id = ?').get(ref.rowId) as
    { raw_path: string | null; purged_at: string | null } | undefined;
  return row !== undefined && row.purged_at === null && row.raw_path === ref.rawPath;
}

export interface SchemaEntry {
  version: number;
  name: string;
  sha256: string;
}

/** What the manifest states about a database copy (and restore holds the copy to). */
export interface DatabaseFacts {
  schema: SchemaEntry[];
  counts: { cases: number; messages: number; events: number };
  eventHead: { id: number; hash: string } | null;
}

export function databaseFacts(db: Db): DatabaseFacts {
  const count = (table: 'cases' | 'messages' | 'events'): number =>
    (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  const head = db.prepare('SELECT id, hash FROM events ORDER BY id DESC LIMIT 1').get() as
    { id: number; hash: string } | undefined;
  return {
    schema: appliedMigrations(db).map((m) => ({ version: m.version, name: m.name, sha256: m.sha256 })),
    counts: { cases: count('cases'), messages: count('messages'), events: count('events') },
    eventHead: head === undefined ? null : { id: head.id, hash: head.hash },
  };
}

/**
 * In the database being restored (not yet in place): points every spool reference at the new
 * spool folder (`place` maps the old path to the new one) and records the restore as an event,
 * in one transaction.
 */
export function recordRestore(
  db: Db,
  clock: Clock,
  restore: { takenAt: string; toolVersion: string; place: (rawPath: string) => string },
): void {
  const update = db.prepare('UPDATE messages SET raw_path = ? WHERE id = ?');
  db.transaction(() => {
    const refs = spoolReferences(db);
    for (const ref of refs) update.run(restore.place(ref.rawPath), ref.rowId);
    appendEvent(db, clock, {
      caseId: null,
      type: RESTORED_EVENT,
      actor: 'system',
      data: {
        backupTakenAt: restore.takenAt,
        backupToolVersion: restore.toolVersion,
        spoolFiles: refs.length,
      },
    });
  }).immediate();
}

/** A restore whose mailbox recovery has not finished yet. */
export interface PendingRecovery {
  restoreEventId: number;
  /** When the backup was taken: mail filed after it may be unknown to this database. */
  takenAt: string;
}

/** The last restore, when no recovery was recorded after it; null otherwise (or never restored). */
export function pendingRestoreRecovery(db: Db): PendingRecovery | null {
  const restore = db
    .prepare('SELECT id, data FROM events WHERE case_id IS NULL AND type = ? ORDER BY id DESC LIMIT 1')
    .get(RESTORED_EVENT) as { id: number; data: string } | undefined;
  if (restore === undefined) return null;
  const done = db
    .prepare('SELECT 1 FROM events WHERE case_id IS NULL AND type = ? AND id > ? LIMIT 1')
    .get(RECOVERED_EVENT, restore.id);
  if (done !== undefined) return null;
  const data = JSON.parse(restore.data) as { backupTakenAt?: unknown };
  if (typeof data.backupTakenAt !== 'string')
    throw new Error(`event ${restore.id} (${RESTORED_EVENT}) names no backupTakenAt`);
  return { restoreEventId: restore.id, takenAt: data.backupTakenAt };
}

/** Records that the intake moved back the mail the restored database did not know (counts only). */
export function recordRecovery(
  db: Db,
  clock: Clock,
  restoreEventId: number,
  moved: { processed: number; quarantine: number },
): void {
  db.transaction(() => {
    appendEvent(db, clock, {
      caseId: null,
      type: RECOVERED_EVENT,
      actor: 'system',
      data: { restoreEventId, movedBack: moved },
    });
  }).immediate();
}

/** Whether a message with these bytes (SHA-256) or this Message-ID is stored. */
export function holdsMessage(db: Db, sha256: string, messageId: string | null): boolean {
  if (db.prepare('SELECT 1 FROM messages WHERE sha256 = ?').get(sha256) !== undefined) return true;
  return (
    messageId !== null &&
    db.prepare('SELECT 1 FROM messages WHERE message_id = ?').get(messageId) !== undefined
  );
}
