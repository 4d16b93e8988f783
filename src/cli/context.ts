import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { openDatabase, openExisting, type Db } from '../7-cases/db.js';
import { migrationStatus, readMigrations } from '../7-cases/migrate.js';
import { describeError } from '../core/errors.js';
import { migrationsDir } from './doctor.js';

/** Exit codes: 0 ok, 1 a check or the service failed, 2 bad usage or invalid configuration. */
export const EXIT_FAILED = 1;
export const EXIT_CONFIG = 2;

/** Ends the command: `psirt: <why>` on stderr and the exit code. */
export function exitWith(code: number, why: string): never {
  process.stderr.write(`psirt: ${why}\n`);
  process.exit(code);
}

/** The configuration (`file`: the `--config` option), or exit 2 with one line per bad key. */
export function configOrExit(file: string | undefined, what = 'not starting'): Config {
  try {
    return loadConfig(file === undefined ? {} : { file });
  } catch (err) {
    if (err instanceof ConfigError) {
      exitWith(EXIT_CONFIG, `invalid configuration, ${what}:\n${err.issues.map((i) => `  ${i}`).join('\n')}`);
    }
    throw err;
  }
}

/** A whole number ≥ 1 from an option, or exit 2 naming the option. */
export function positive(value: string, name: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1)
    exitWith(EXIT_CONFIG, `${name} must be a whole number ≥ 1 (got "${value}")`);
  return n;
}

/**
 * Runs `use` on the database of a command that reads cases, opened read-only (read-write with
 * `write`, for `psirt hold|unhold`), and closes it. A missing or unmigrated file ends the
 * command with exit 1 and one line naming what to run — never a stack trace, and never an empty
 * database made as a side effect (issue #10).
 */
export function withCaseDatabase<T>(cfg: Config, use: (db: Db) => T, options: { write?: boolean } = {}): T {
  const path = cfg.database.path;
  const opened = openExisting(path, options);
  if (opened.state === 'missing') {
    exitWith(
      EXIT_FAILED,
      `no database at ${path}: run "psirt migrate" (or start the service or the demo) first`,
    );
  }
  const unreadable = (err: unknown): never =>
    exitWith(EXIT_FAILED, `cannot read the database at ${path}: ${describeError(err)}`);
  if (opened.state === 'unreadable') return unreadable(opened.error);
  const { db } = opened;
  let pending: number;
  try {
    pending = migrationStatus(db, readMigrations(migrationsDir())).pending.length;
  } catch (err) {
    db.close();
    return unreadable(err);
  }
  if (pending > 0) {
    db.close();
    exitWith(
      EXIT_FAILED,
      `the database at ${path} is not migrated (${pending} migration(s) pending): run "psirt migrate" first`,
    );
  }
  try {
    return use(db);
  } finally {
    db.close();
  }
}

/**
 * Runs `use` on the database opened for writing, for a command that changes records (`psirt
 * seal`, `psirt rewrap`), after the same checks as `withCaseDatabase`: it exists and is migrated.
 */
export async function withWritableCaseDatabase<T>(cfg: Config, use: (db: Db) => Promise<T>): Promise<T> {
  withCaseDatabase(cfg, () => undefined);
  let db: Db;
  try {
    db = openDatabase(cfg.database.path, { mustExist: true });
  } catch (err) {
    return exitWith(EXIT_FAILED, `cannot open the database at ${cfg.database.path}: ${describeError(err)}`);
  }
  try {
    return await use(db);
  } finally {
    db.close();
  }
}
