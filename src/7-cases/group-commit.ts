import type { Db } from './db.js';

/** How a group committer batches (issue #16). */
export interface GroupCommitOptions {
  /**
   * Flush at once, without waiting for the next turn of the event loop, when this many
   * functions wait (default 64): one transaction never grows without bound.
   */
  maxBatch?: number;
  /** Told after each COMMIT returned, with the number of functions it carried. Must not throw. */
  onCommit?: (functions: number) => void;
}

/**
 * Several writers' synchronous SQLite writes in one durable commit (issue #16).
 *
 * Every COMMIT with `synchronous = FULL` waits for the disk (fsync of the WAL); concurrent
 * mailer jobs each paid that wait for their claim and their mark-sent. A group committer queues
 * write functions and runs all those queued before the next `setImmediate` (or `maxBatch` of
 * them at once) in ONE `BEGIN IMMEDIATE … COMMIT`, each inside its own savepoint (a nested
 * better-sqlite3 transaction), so:
 * - a function that throws rolls back only its own writes and rejects only its own promise;
 * - every promise settles only after the COMMIT returned: a resolved write is as durable as one
 *   committed alone (nothing about the pragmas changes). When BEGIN or COMMIT fails (a busy
 *   timeout, a full disk), or SQLite rolled the whole transaction back under a function, every
 *   function of that batch is rejected with that error and none of its writes stays.
 *
 * NB! A function must be synchronous and must not await (better-sqlite3 refuses a promise), and
 * it must not violate a DEFERRABLE constraint: those are checked only at the COMMIT, so such a
 * violation fails the whole batch (the schema has none).
 * Writes outside the committer (this process's other code, other processes) stay correct: the
 * batch is one ordinary IMMEDIATE transaction, run synchronously within one turn.
 */
export interface GroupCommit {
  /** Queues `fn` for the next batch; resolves with its result after that batch committed. */
  run<T>(fn: () => T): Promise<T>;
  /** Runs what is queued now, synchronously (before a stop). */
  flush(): void;
  /** Transactions committed so far, and functions they carried (tests, metrics). */
  stats(): { commits: number; functions: number };
}

interface Queued {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Thrown when SQLite ended the batch's transaction itself (e.g. SQLITE_FULL): the batch is lost. */
export class GroupCommitAborted extends Error {
  constructor(options?: ErrorOptions) {
    super('SQLite rolled back the group commit transaction', options);
    this.name = 'GroupCommitAborted';
  }
}

/** A group committer on `db` (see GroupCommit). One per connection is enough. */
export function createGroupCommit(db: Db, options: GroupCommitOptions = {}): GroupCommit {
  const maxBatch = Math.max(1, options.maxBatch ?? 64);
  let queue: Queued[] = [];
  let timer: NodeJS.Immediate | null = null;
  // A function that queues another write while its batch runs must not flush inside that
  // transaction (its savepoint's RELEASE is no commit): it waits for the next batch.
  let flushing = false;
  let commits = 0;
  let functions = 0;

  /** Runs one batch in one IMMEDIATE transaction; returns each function's outcome in order. */
  function runBatch(batch: readonly Queued[]): Outcome[] {
    const outcomes: Outcome[] = [];
    db.transaction(() => {
      for (const item of batch) {
        try {
          // Nested: a SAVEPOINT, rolled back alone when the function throws.
          outcomes.push({ ok: true, value: db.transaction(item.fn)() });
        } catch (error) {
          outcomes.push({ ok: false, error });
        }
        // SQLite may roll back the whole transaction on some errors (SQLITE_FULL, IOERR): the
        // functions before lost their writes too, and the next would run in autocommit.
        if (!db.inTransaction) {
          const last = outcomes[outcomes.length - 1];
          throw new GroupCommitAborted(last?.ok === false ? { cause: last.error } : undefined);
        }
      }
    }).immediate();
    return outcomes;
  }

  function flush(): void {
    if (timer !== null) {
      clearImmediate(timer);
      timer = null;
    }
    if (flushing || queue.length === 0) return;
    const batch = queue;
    queue = [];
    flushing = true;
    let outcomes: Outcome[];
    try {
      outcomes = runBatch(batch);
    } catch (error) {
      // BEGIN or COMMIT failed, or the transaction was lost: nothing of this batch is stored.
      for (const item of batch) item.reject(error);
      return;
    } finally {
      flushing = false;
      if (queue.length > 0) schedule();
    }
    commits += 1;
    functions += batch.length;
    options.onCommit?.(batch.length);
    batch.forEach((item, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined) item.reject(new Error('group commit lost an outcome'));
      else if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }

  function schedule(): void {
    timer ??= setImmediate(flush);
  }

  return {
    run<T>(fn: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
        if (queue.length >= maxBatch && !flushing) flush();
        else schedule();
      });
    },
    flush,
    stats: () => ({ commits, functions }),
  };
}

/**
 * The same interface without batching: each function runs at once in its own transaction
 * (`fn` itself opens one, as the store's functions do). For callers and tests that do not batch.
 */
export function directCommit(): GroupCommit {
  let commits = 0;
  return {
    run<T>(fn: () => T): Promise<T> {
      return new Promise<T>((resolve) => {
        resolve(fn());
        commits += 1;
      });
    },
    flush: () => undefined,
    stats: () => ({ commits, functions: commits }),
  };
}
