import type { Clock } from '../core/clock.js';
import type { Vault } from '../core/vault.js';
import type { Db } from './db.js';

/** One message as fetched from IMAP, before anything parsed it. */
export interface FetchedMessage {
  mailbox: string;
  uidvalidity: string;
  uid: number;
  size: number;
  /** The exact bytes, or null when they were spooled to `rawPath` (oversize mail). */
  raw: Buffer | null;
  /** A spool file, already sealed by the intake (`Vault.sealingStream`). */
  rawPath: string | null;
  /** Of the exact bytes as fetched, never of the sealed form (the dedupe key). */
  sha256: string;
  /** Message-ID from a cheap header scan (without <>), for the duplicate check; may be null. */
  messageId: string | null;
  internalDate: string | null;
}

export type StoreOutcome =
  /** New: stored with state `received`; decode and apply next. */
  | { kind: 'stored'; rowId: number }
  /** This IMAP position or these exact bytes are already stored (re-fetch, UIDVALIDITY rescan). */
  | { kind: 'known'; rowId: number; state: MessageState; sameBytes: boolean; quarantined: boolean };

export type MessageState = 'received' | 'applied' | 'failed';

export interface Checkpoint {
  uidvalidity: string;
  lastUid: number;
}

export function getCheckpoint(db: Db, mailbox: string): Checkpoint | null {
  const row = db
    .prepare('SELECT uidvalidity, last_uid FROM intake_checkpoints WHERE mailbox = ?')
    .get(mailbox) as { uidvalidity: string; last_uid: number } | undefined;
  return row ? { uidvalidity: row.uidvalidity, lastUid: row.last_uid } : null;
}

/**
 * Step (a) of the flow (STYLE.md rule 4): stores the raw bytes and advances the checkpoint in one
 * IMMEDIATE transaction, so from here on the message cannot be lost. Idempotent: the same IMAP
 * position or the same bytes yield `known`, and the checkpoint still advances. The bytes are
 * written sealed (#13), whether the mail arrived in clear or encrypted: its outer headers may
 * carry a real subject either way.
 */
export function storeRaw(db: Db, clock: Clock, vault: Vault, m: FetchedMessage): StoreOutcome {
  return db
    .transaction((): StoreOutcome => {
      advanceCheckpoint(db, clock, m.mailbox, m.uidvalidity, m.uid);
      return storeOne(db, clock, vault, m);
    })
    .immediate();
}

/** As `StoreOutcome`; a new message comes with its attempts counted (`storeBatch`). */
export type BatchStoreOutcome =
  { kind: 'stored'; rowId: number; attempts: number } | Extract<StoreOutcome, { kind: 'known' }>;

/**
 * Step (a) for a batch of messages of one mailbox and UIDVALIDITY (issue #16): one IMMEDIATE
 * transaction stores them all, advances the checkpoint once (to the highest UID) and counts the
 * first attempt of each new one — committed together before anything parses them (DESIGN.md
 * invariant 8, as `beginAttempt`). Known messages are returned as `storeRaw` returns them, their
 * attempts not counted (whoever processes them counts). Outcomes in the order of `msgs`.
 */
export function storeBatch(
  db: Db,
  clock: Clock,
  vault: Vault,
  msgs: readonly FetchedMessage[],
): BatchStoreOutcome[] {
  const first = msgs[0];
  if (first === undefined) return [];
  for (const m of msgs)
    if (m.mailbox !== first.mailbox || m.uidvalidity !== first.uidvalidity)
      throw new Error('a batch holds messages of one mailbox and UIDVALIDITY');
  return db
    .transaction((): BatchStoreOutcome[] => {
      advanceCheckpoint(db, clock, first.mailbox, first.uidvalidity, Math.max(...msgs.map((m) => m.uid)));
      return msgs.map((m): BatchStoreOutcome => {
        const outcome = storeOne(db, clock, vault, m);
        return outcome.kind === 'stored'
          ? { ...outcome, attempts: beginAttempt(db, outcome.rowId).attempts }
          : outcome;
      });
    })
    .immediate();
}

/** Stores one message unless its position or bytes are known; inside the caller's transaction. */
function storeOne(db: Db, clock: Clock, vault: Vault, m: FetchedMessage): StoreOutcome {
  const byPosition = db
    .prepare(
      'SELECT id, state, sha256, failure FROM messages WHERE mailbox = ? AND uidvalidity = ? AND uid = ?',
    )
    .get(m.mailbox, m.uidvalidity, m.uid) as
    { id: number; state: MessageState; sha256: string; failure: string | null } | undefined;
  if (byPosition) {
    return {
      kind: 'known',
      rowId: byPosition.id,
      state: byPosition.state,
      sameBytes: byPosition.sha256 === m.sha256,
      quarantined: byPosition.failure !== null,
    };
  }
  const byBytes = db.prepare('SELECT id, state, failure FROM messages WHERE sha256 = ?').get(m.sha256) as
    { id: number; state: MessageState; failure: string | null } | undefined;
  if (byBytes) {
    return {
      kind: 'known',
      rowId: byBytes.id,
      state: byBytes.state,
      sameBytes: true,
      quarantined: byBytes.failure !== null,
    };
  }
  const info = db
    .prepare(
      `INSERT INTO messages (mailbox, uidvalidity, uid, sha256, message_id, size, raw, raw_path, internal_date, stored_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      m.mailbox,
      m.uidvalidity,
      m.uid,
      m.sha256,
      m.messageId,
      m.size,
      m.rawPath === null && m.raw !== null ? vault.seal(m.raw, 'messages.raw') : null,
      m.rawPath,
      m.internalDate,
      clock.now().toISOString(),
    );
  return { kind: 'stored', rowId: Number(info.lastInsertRowid) };
}

/** Moves the checkpoint forward (never back) within a UIDVALIDITY; a new UIDVALIDITY restarts it. */
export function advanceCheckpoint(
  db: Db,
  clock: Clock,
  mailbox: string,
  uidvalidity: string,
  uid: number,
): void {
  db.prepare(
    `INSERT INTO intake_checkpoints (mailbox, uidvalidity, last_uid, updated_at) VALUES (@mailbox, @uv, @uid, @at)
     ON CONFLICT (mailbox) DO UPDATE SET
       last_uid = CASE WHEN uidvalidity = excluded.uidvalidity THEN max(last_uid, excluded.last_uid) ELSE excluded.last_uid END,
       uidvalidity = excluded.uidvalidity,
       updated_at = excluded.updated_at`,
  ).run({ mailbox, uv: uidvalidity, uid, at: clock.now().toISOString() });
}

/** Stored messages not yet applied (a crash between the two transactions leaves them here). */
export function pendingMessageIds(db: Db): number[] {
  return (
    db.prepare("SELECT id FROM messages WHERE state = 'received' ORDER BY id").all() as { id: number }[]
  ).map((r) => r.id);
}

/**
 * The bytes of a stored message for decoding, opened by the vault: from SQLite, or from the spool
 * file for large mail; null when the mail is over `maxBytes` (oversize, never decoded). Rows and
 * files written before #13 are in clear and read as they are until the backlog seals them.
 */
export async function readStoredRaw(
  db: Db,
  vault: Vault,
  rowId: number,
  maxBytes: number,
): Promise<Buffer | null> {
  const stored = loadRaw(db, rowId);
  if (stored.raw !== null) return await vault.openOrClear(stored.raw, 'messages.raw');
  if (stored.rawPath === null || stored.size > maxBytes) return null;
  return vault.openFile(stored.rawPath, 'spool');
}

/**
 * At most the first `limit` bytes of a stored message, opened (the header scan), whatever its
 * size: from SQLite, or from its spool file without holding the whole file.
 */
export async function readStoredHead(db: Db, vault: Vault, rowId: number, limit: number): Promise<Buffer> {
  const stored = loadRaw(db, rowId);
  if (stored.raw !== null) return (await vault.openOrClear(stored.raw, 'messages.raw')).subarray(0, limit);
  if (stored.rawPath === null) return Buffer.alloc(0);
  return vault.openFile(stored.rawPath, 'spool', limit);
}

/**
 * The stored bytes of a message as they are at rest (sealed; in clear only before #13), or where
 * they were spooled. Open them with `readStoredRaw`/`readStoredHead`.
 */
export function loadRaw(db: Db, rowId: number): { raw: Buffer | null; rawPath: string | null; size: number } {
  const row = db.prepare('SELECT raw, raw_path, size FROM messages WHERE id = ?').get(rowId) as
    { raw: Buffer | null; raw_path: string | null; size: number } | undefined;
  if (!row) throw new Error(`message ${rowId} is not stored`);
  return { raw: row.raw, rawPath: row.raw_path, size: row.size };
}

export interface UnfiledMessage {
  rowId: number;
  uid: number;
  target: 'processed' | 'quarantine';
}

/**
 * Messages whose case is committed but whose IMAP copy was not moved yet (a crash after commit):
 * the intake moves them on its next round. Only positions under the current UIDVALIDITY.
 */
export function unfiledMessages(db: Db, mailbox: string, uidvalidity: string): UnfiledMessage[] {
  return (
    db
      .prepare(
        `SELECT id, uid, failure FROM messages
         WHERE mailbox = ? AND uidvalidity = ? AND state <> 'received' AND filed_to IS NULL ORDER BY uid`,
      )
      .all(mailbox, uidvalidity) as { id: number; uid: number; failure: string | null }[]
  ).map((r) => ({ rowId: r.id, uid: r.uid, target: r.failure === null ? 'processed' : 'quarantine' }));
}

export function markFiled(db: Db, rowIds: readonly number[], target: 'processed' | 'quarantine'): void {
  const stmt = db.prepare('UPDATE messages SET filed_to = ? WHERE id = ?');
  db.transaction(() => {
    for (const id of rowIds) stmt.run(target, id);
  }).immediate();
}

/**
 * Counts one more attempt to process a stored message and commits it at once, BEFORE the
 * attempt runs (DESIGN.md invariant 8): if the attempt kills the process, the count survives and
 * the next start sees it. Returns the attempts so far, this one included, and the last error.
 */
export function beginAttempt(db: Db, rowId: number): { attempts: number; lastError: string | null } {
  const row = db
    .prepare('UPDATE messages SET attempts = attempts + 1 WHERE id = ? RETURNING attempts, last_error')
    .get(rowId) as { attempts: number; last_error: string | null } | undefined;
  if (!row) throw new Error(`message ${rowId} is not stored`);
  return { attempts: row.attempts, lastError: row.last_error };
}

/**
 * Gives back the first attempt that `storeBatch` counted for batch-mates of a message a crash
 * interrupted (issue #16, `src/core/inflight.ts`): only rows still `received` with that single
 * attempt and no failure recorded, matched by row id and UID (a marker older than a restore names other rows). One
 * transaction; returns how many got theirs back. Idempotent: a second run finds attempts 0.
 */
export function refundBatchAttempts(db: Db, rows: readonly { id: number; uid: number }[]): number {
  const stmt = db.prepare(
    "UPDATE messages SET attempts = 0 WHERE id = ? AND uid = ? AND state = 'received' AND attempts = 1 AND last_error IS NULL",
  );
  return db.transaction(() => rows.reduce((n, r) => n + stmt.run(r.id, r.uid).changes, 0)).immediate();
}

/** Records why an attempt failed: an error description, never content (invariant 6). */
export function recordAttemptError(db: Db, rowId: number, error: string): void {
  db.prepare('UPDATE messages SET last_error = ? WHERE id = ?').run(error, rowId);
}

/** The date the mailbox (or the export) recorded for a stored message, if any (issue #15). */
export function storedInternalDate(db: Db, rowId: number): string | null {
  const row = db.prepare('SELECT internal_date FROM messages WHERE id = ?').get(rowId) as
    { internal_date: string | null } | undefined;
  return row?.internal_date ?? null;
}
