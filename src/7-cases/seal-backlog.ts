import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { isSealed, type Vault } from '../core/vault.js';
import type { Db } from './db.js';
import { compactAfterPurge } from './retention-store.js';
import { sealSubject } from './sealed-subject.js';
import { neutralSubject, PROTECTED_SUBJECT } from './subject.js';

/**
 * Sealing the backlog of a database written before #13 (DESIGN.md invariant 6): raw mail stored
 * in clear (`messages.raw`, spool files), real subjects in `cases.subject`, and outbox subjects
 * quoting them. Idempotent and resumable: `isSealed` tells done records apart, so a run stopped
 * half-way goes on where it stopped, and a second run finds nothing to do.
 */

/** The spool folder of a database: spool/ beside it (where the intake role spools large mail). */
export function spoolDirFor(databasePath: string): string {
  return join(dirname(databasePath), 'spool');
}

/** What is (still) in clear, per kind of record. */
export interface BacklogCounts {
  /** `messages.raw` rows not sealed. */
  raw: number;
  /** Spool files (referenced by `messages.raw_path` or lying in the spool folder) not sealed. */
  spool: number;
  /** Cases whose `cases.subject` holds the real subject. */
  subjects: number;
  /** Outbox rows whose subject may quote a report's or a staff mail's words. */
  outbox: number;
}

export type BacklogKind = keyof BacklogCounts;

export interface BacklogProgress {
  kind: BacklogKind;
  done: number;
  total: number;
}

export interface SealBacklogOptions {
  /** The spool folder (spool/ beside the database): files no row names are sealed too. */
  spoolDir?: string;
  /** The case id pattern (`CaseIdFormat.pattern`): the tag of an outbox subject with no case. */
  caseIdPattern: string;
  /** Rows per transaction (default 200). */
  batch?: number;
  onProgress?: (p: BacklogProgress) => void;
}

export interface SealBacklogResult {
  sealed: BacklogCounts;
  /** False when a reader kept the WAL from being truncated (its clear frames are gone anyway once overwritten). */
  walTruncated: boolean;
}

/**
 * Outbox kinds whose subject is built from case ids, stages and deadlines only (escalations,
 * assignment notices, refusals, delivery alerts, channel expiry, embargo reminders, customer
 * advisories): never a reporter's words.
 * Every other kind may quote a subject and is made neutral.
 */
const ID_ONLY_KINDS = [
  'escalation',
  'assignment',
  'command-rejected',
  'delivery-alert',
  'channel-expiry',
  // #14: the staff embargo reminder names the case and the agreed date; the customer mail the
  // case and the revision (never the live title).
  'embargo-reminder',
  'customer-advisory',
  // #15: the import summary's subject carries a count only; the service's own alerts and probe
  // name an alarm or nothing.
  'import-summary',
  'service-alert',
  'mail-probe',
];
const ID_ONLY = ID_ONLY_KINDS.map((k) => `'${k}'`).join(', ');

/** `substr` on a BLOB works in bytes: the sealed layout's magic ("PSL1"). */
const MAGIC_SQL = "X'50534C31'";

const CLEAR_RAW = `raw IS NOT NULL AND length(raw) > 0 AND substr(raw, 1, 4) <> ${MAGIC_SQL}`;
const CLEAR_SUBJECT = 'subject <> @protected';
const CLEAR_OUTBOX = `kind NOT IN (${ID_ONLY}) AND substr(subject, -length(@protected)) <> @protected`;

/** How much of the backlog is left (doctor, and the totals of the progress). Counts in SQL. */
export function backlogCounts(db: Db, spoolDir?: string): BacklogCounts {
  const n = (sql: string): number =>
    (db.prepare(sql).get({ protected: PROTECTED_SUBJECT }) as { n: number }).n;
  return {
    raw: n(`SELECT count(*) AS n FROM messages WHERE ${CLEAR_RAW}`),
    spool: spoolFiles(db, spoolDir).filter((f) => !fileIsSealed(f)).length,
    subjects: n(`SELECT count(*) AS n FROM cases WHERE ${CLEAR_SUBJECT}`),
    outbox: n(`SELECT count(*) AS n FROM outbox WHERE ${CLEAR_OUTBOX}`),
  };
}

/**
 * Seals the backlog, in batches of `batch` rows per IMMEDIATE transaction.
 * 1. `PRAGMA secure_delete = ON` for the pass: the clear bytes a row update frees are zeroed,
 *    not left in free pages
 * 2. raw rows → sealed (`messages.raw`)
 * 3. spool files → a sealed file written beside (`.sealing`), synced, renamed over the clear one
 * 4. `cases.subject` → `subject_sealed` (protected: false — only subjects of reports sent in
 *    clear were stored in clear) and `subject` = PROTECTED_SUBJECT
 * 5. outbox subjects → the neutral form (`Re: [SEC-…] ...`); the mailer puts the real one back
 * 6. `VACUUM` when anything was sealed (older clear copies in free pages), then
 *    `wal_checkpoint(TRUNCATE)`: the WAL frames that held clear pages are gone
 * NB! Synchronous on purpose: the intake runs it before its poller starts.
 */
export function sealBacklog(db: Db, vault: Vault, opts: SealBacklogOptions): SealBacklogResult {
  const batch = opts.batch ?? 200;
  const before = backlogCounts(db, opts.spoolDir);
  const sealed: BacklogCounts = { raw: 0, spool: 0, subjects: 0, outbox: 0 };
  const report = (kind: BacklogKind): void =>
    opts.onProgress?.({ kind, done: sealed[kind], total: before[kind] });
  const secureDelete = db.pragma('secure_delete', { simple: true }) as number;
  db.pragma('secure_delete = ON');
  try {
    sealed.raw = inBatches(
      db,
      batch,
      before.raw,
      (n) => {
        sealed.raw += n;
        report('raw');
      },
      (after, limit) => {
        const rows = db
          .prepare(`SELECT id, raw FROM messages WHERE id > ? AND ${CLEAR_RAW} ORDER BY id LIMIT ?`)
          .all(after, limit) as { id: number; raw: Buffer }[];
        const update = db.prepare('UPDATE messages SET raw = ? WHERE id = ?');
        for (const r of rows) if (!isSealed(r.raw)) update.run(vault.seal(r.raw, 'messages.raw'), r.id);
        return rows.map((r) => r.id);
      },
    );

    for (const file of spoolFiles(db, opts.spoolDir, { tidy: true })) {
      if (sealSpoolFile(vault, file)) {
        sealed.spool += 1;
        report('spool');
      }
    }

    sealed.subjects = inBatches(
      db,
      batch,
      before.subjects,
      (n) => {
        sealed.subjects += n;
        report('subjects');
      },
      (after, limit) => {
        const rows = db
          .prepare(
            `SELECT rowid AS rid, id, subject, subject_sealed FROM cases WHERE rowid > @after AND ${CLEAR_SUBJECT}
           ORDER BY rowid LIMIT @limit`,
          )
          .all({ after, limit, protected: PROTECTED_SUBJECT }) as {
          rid: number;
          id: string;
          subject: string;
          subject_sealed: Buffer | null;
        }[];
        const update = db.prepare('UPDATE cases SET subject = ?, subject_sealed = ? WHERE id = ?');
        for (const r of rows) {
          // A sealed subject already written (by a newer writer) is the truth; only the clear copy goes.
          const sealedSubject =
            r.subject_sealed ?? sealSubject(vault, { subject: r.subject, protected: false });
          update.run(PROTECTED_SUBJECT, sealedSubject, r.id);
        }
        return rows.map((r) => r.rid);
      },
    );

    const tag = new RegExp(`\\[(${opts.caseIdPattern})\\]`);
    sealed.outbox = inBatches(
      db,
      batch,
      before.outbox,
      (n) => {
        sealed.outbox += n;
        report('outbox');
      },
      (after, limit) => {
        const rows = db
          .prepare(
            `SELECT id, case_id, subject FROM outbox WHERE id > @after AND ${CLEAR_OUTBOX} ORDER BY id LIMIT @limit`,
          )
          .all({ after, limit, protected: PROTECTED_SUBJECT }) as {
          id: number;
          case_id: string | null;
          subject: string;
        }[];
        const update = db.prepare('UPDATE outbox SET subject = ? WHERE id = ?');
        for (const r of rows)
          update.run(neutralSubject(r.subject, r.case_id ?? tag.exec(r.subject)?.[1] ?? null), r.id);
        return rows.map((r) => r.id);
      },
    );
  } finally {
    db.pragma(`secure_delete = ${secureDelete === 0 ? 'OFF' : 'ON'}`);
  }
  // secure_delete zeroes only what this pass frees; older clear copies (cells moved by page
  // splits, rows rewritten before) may sit in free space: rebuild the file when anything was
  // sealed, as the retention purge does, then truncate the WAL.
  const anything = Object.values(sealed).some((n) => n > 0);
  const { busy } = compactAfterPurge(db, { vacuum: anything });
  return { sealed, walTruncated: !busy };
}

/**
 * Runs `step` (rows after a cursor → the ids it handled) in IMMEDIATE transactions of `batch`
 * rows until it handles none; returns how many it handled. The cursor only moves forward, so a
 * row that stays in clear (it cannot, but a bug could) never loops.
 */
function inBatches(
  db: Db,
  batch: number,
  total: number,
  onBatch: (n: number) => void,
  step: (after: number, limit: number) => number[],
): number {
  let after = 0;
  let done = 0;
  if (total === 0) return 0;
  for (;;) {
    const ids = db.transaction(() => step(after, batch)).immediate();
    if (ids.length === 0) return done;
    done += ids.length;
    after = ids[ids.length - 1] ?? after;
    onBatch(ids.length);
  }
}

/** Spool files: those the rows name, then any other file in the spool folder (a crash's leftovers). */
export function spoolFiles(db: Db, spoolDir?: string, opts: { tidy?: boolean } = {}): string[] {
  const named = (
    db.prepare('SELECT raw_path FROM messages WHERE raw_path IS NOT NULL ORDER BY id').all() as {
      raw_path: string;
    }[]
  ).map((r) => r.raw_path);
  const files = new Set(named.filter((f) => existsSync(f)));
  if (spoolDir !== undefined && existsSync(spoolDir)) {
    for (const name of readdirSync(spoolDir).sort()) {
      const path = join(spoolDir, name);
      if (name.endsWith(SEALING)) {
        // A sealed copy a crash left half-written: the clear file beside it is still there.
        if (opts.tidy === true) rmSync(path, { force: true });
        continue;
      }
      if (statSync(path).isFile()) files.add(path);
    }
  }
  return [...files];
}

const SEALING = '.sealing';

/** The first bytes of a file: enough for `isSealed` and `sealedKeyId` (a sealed record has ≥ 36). */
export function fileHead(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(36);
    return head.subarray(0, readSync(fd, head, 0, head.length, 0));
  } finally {
    closeSync(fd);
  }
}

function fileIsSealed(path: string): boolean {
  return isSealed(fileHead(path));
}

/**
 * Seals one spool file in place: the sealed record is written beside it (mode 0600), synced, and
 * renamed over the clear file, so a crash leaves either the clear file or the sealed one, never
 * neither. Returns false when it was sealed already.
 */
function sealSpoolFile(vault: Vault, path: string): boolean {
  if (fileIsSealed(path)) return false;
  const sealed = vault.seal(readFileSync(path), 'spool');
  const tmp = `${path}${SEALING}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    let off = 0;
    while (off < sealed.length) off += writeSync(fd, sealed, off, sealed.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  // The rename is durable once the folder is synced.
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return true;
}
