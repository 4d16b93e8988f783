import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/**
 * Opens (and creates) the SQLite file with the settings every process must share:
 * WAL so readers never block the writer, busy_timeout ≥ 5 s because several processes write,
 * synchronous=FULL because a committed report must survive a power cut, foreign keys on.
 * NB! Every write transaction must run with `.immediate()`: a deferred one that reads first
 * cannot wait for the write lock in WAL mode (libraries.md §6).
 */
export function openDatabase(path: string, options: { readonly?: boolean; mustExist?: boolean } = {}): Db {
  if (path !== ':memory:' && !options.readonly && !options.mustExist) {
    mkdirSync(dirname(path), { recursive: true });
  }
  const db = new Database(path, {
    readonly: options.readonly ?? false,
    fileMustExist: options.mustExist ?? options.readonly ?? false,
    timeout: 10_000,
  });
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
  }
  db.pragma('foreign_keys = ON');
  cacheStatements(db);
  return db;
}

/** An existing database opened read-only, or why it is not. */
export type ExistingDb =
  { state: 'open'; db: Db } | { state: 'missing' } | { state: 'unreadable'; error: unknown };

/**
 * Opens the database at `path` read-only, for a command or check that only reads (or, with
 * `write`, read-write for a CLI command that changes a case, issue #13): a missing file is
 * answered `missing` (the caller says what to run), never created empty as a side effect
 * (issue #10). The caller closes an `open` one.
 */
export function openExisting(path: string, options: { write?: boolean } = {}): ExistingDb {
  if (path !== ':memory:' && !existsSync(path)) return { state: 'missing' };
  try {
    const db = options.write
      ? openDatabase(path, { mustExist: true })
      : openDatabase(path, { readonly: true });
    return { state: 'open', db };
  } catch (error) {
    return { state: 'unreadable', error };
  }
}

/**
 * Makes `db.prepare(sql)` return one compiled statement per SQL text: the store prepares its
 * statements where it uses them, and compiling them again on every call cost about a tenth of
 * the intake's CPU (npm run bench, profiled). A statement must not be run again while one of its
 * `iterate()` loops is open (better-sqlite3 refuses; only the event-chain check iterates).
 */
function cacheStatements(db: Db): void {
  const compile = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let statement = cache.get(sql);
    if (statement === undefined) {
      statement = compile(sql);
      cache.set(sql, statement);
    }
    return statement;
  };
  db.prepare = prepare as Db['prepare'];
}
