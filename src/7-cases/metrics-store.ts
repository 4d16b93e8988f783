import type { Db } from './db.js';

/**
 * What the metrics read from SQLite at each scrape (#15): counts by fixed vocabularies only —
 * stage, deadline kind, outbox kind and state, case flag, role, alarm and mark names — never an
 * address, a subject, a case id or a message id. Every process of a `--role` split reads the
 * same file, so any process's `/metrics` tells the same truth.
 *
 * NB! Cheap by construction: the queries read the small leading columns of `cases`, `deadlines`
 * and `outbox` (never the columns after a raw or sealed blob, whose overflow pages SQLite would
 * have to walk) or use the partial indexes the tables already have; `messages` (raw mail in the
 * row) is only read through its `messages_pending` index.
 */

export interface OperationalSnapshot {
  /** Cases by stage (closed included). */
  casesByStage: { stage: string; n: number }[];
  /** Open (not closed) cases carrying each flag (undecryptable, corrupt, …). */
  openCasesByFlag: { flag: string; n: number }[];
  /** Deadlines by kind and state (open, paused), and how many of the open ones are past due. */
  deadlines: { kind: string; state: string; n: number; missed: number }[];
  /** Outbox rows by kind, whatever their state (the covering index `outbox_kind_created`). */
  outboxTotals: { kind: string; n: number }[];
  /** Outbox rows pending or being sent, by kind (the partial index `outbox_unsent`). */
  outboxUnsent: { kind: string; state: string; n: number }[];
  /** Stored messages not yet applied (the intake's backlog, or retries after a failure). */
  messagesPending: number;
  /** The latest heartbeat of each role, across hosts and processes. */
  heartbeats: { role: string; beatAt: string }[];
  /** Names of the open alarms (`alarms`, at most one open row per name). */
  openAlarms: string[];
  /** Progress marks (`service_marks`): 'intake.synced', … */
  marks: { name: string; at: string }[];
}

/** Reads the snapshot in one read transaction, so the figures agree with each other. */
export function readOperationalSnapshot(db: Db, now: Date): OperationalSnapshot {
  const nowIso = now.toISOString();
  return db.transaction((): OperationalSnapshot => ({
    casesByStage: db.prepare('SELECT stage, count(*) AS n FROM cases GROUP BY stage').all() as {
      stage: string;
      n: number;
    }[],
    openCasesByFlag: db
      .prepare(
        `SELECT j.value AS flag, count(*) AS n
             FROM cases AS c, json_each(c.flags) AS j
            WHERE c.stage <> 'closed' AND c.flags <> '[]'
            GROUP BY j.value`,
      )
      .all() as { flag: string; n: number }[],
    deadlines: db
      .prepare(
        `SELECT kind, state, count(*) AS n, coalesce(sum(state = 'open' AND due_at < ?), 0) AS missed
             FROM deadlines WHERE state IN ('open', 'paused') AND historical = 0 GROUP BY kind, state`,
      )
      .all(nowIso) as { kind: string; state: string; n: number; missed: number }[],
    outboxTotals: db
      .prepare('SELECT kind, count(*) AS n FROM outbox INDEXED BY outbox_kind_created GROUP BY kind')
      .all() as { kind: string; n: number }[],
    outboxUnsent: db
      .prepare(
        "SELECT kind, state, count(*) AS n FROM outbox WHERE state IN ('pending', 'sending') GROUP BY kind, state",
      )
      .all() as { kind: string; state: string; n: number }[],
    messagesPending: (
      db.prepare("SELECT count(*) AS n FROM messages WHERE state = 'received'").get() as { n: number }
    ).n,
    heartbeats: db
      .prepare('SELECT role, max(beat_at) AS beatAt FROM heartbeats GROUP BY role ORDER BY role')
      .all() as { role: string; beatAt: string }[],
    openAlarms: (
      db.prepare('SELECT name FROM alarms WHERE cleared_at IS NULL ORDER BY name').all() as {
        name: string;
      }[]
    ).map((r) => r.name),
    marks: db.prepare('SELECT name, at FROM service_marks ORDER BY name').all() as {
      name: string;
      at: string;
    }[],
  }))();
}

/**
 * Outbox rows failed or in doubt (`unknown`), by kind. NB! No index covers these states: this
 * scans the table (about 65 ms for 15,000 rows), so the metrics call it at most once a minute.
 */
export function readOutboxProblems(db: Db): { kind: string; state: string; n: number }[] {
  return db
    .prepare(
      "SELECT kind, state, count(*) AS n FROM outbox WHERE state IN ('failed', 'unknown') GROUP BY kind, state",
    )
    .all() as { kind: string; state: string; n: number }[];
}

/**
 * When the report an acknowledgment answers was fetched (`messages.stored_at`), for the
 * acknowledgment latency; null when the row names no message. One row by primary key.
 */
export function reportFetchedAt(db: Db, messageRowId: number): Date | null {
  const row = db.prepare('SELECT stored_at FROM messages WHERE id = ?').get(messageRowId) as
    { stored_at: string } | undefined;
  return row === undefined ? null : new Date(row.stored_at);
}
