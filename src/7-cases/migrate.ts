import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import { PsirtError } from '../core/errors.js';
import type { Db } from './db.js';

/** One numbered SQL file from `migrations/`, e.g. `0003_events.sql`. */
export interface Migration {
  version: number;
  name: string;
  file: string;
  sql: string;
  sha256: string;
}

export interface AppliedMigration {
  version: number;
  name: string;
  sha256: string;
  applied_at: string;
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Reads and orders the migration files; refuses gaps, duplicates and stray names. */
export function readMigrations(dir: string): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const m = FILE.exec(file);
    if (!m) throw new PsirtError('bad_migration_name', `${file}: migration files are named NNNN_name.sql`);
    const sql = readFileSync(join(dir, file), 'utf8');
    out.push({
      version: Number(m[1]),
      name: m[2] as string,
      file,
      sql,
      sha256: createHash('sha256').update(sql).digest('hex'),
    });
  }
  out.forEach((mig, i) => {
    if (mig.version !== i + 1) {
      throw new PsirtError(
        'bad_migration_order',
        `${mig.file}: expected version ${i + 1} (no gaps, no duplicates)`,
      );
    }
  });
  return out;
}

function ensureLedger(db: Db): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
}

export function appliedMigrations(db: Db): AppliedMigration[] {
  // A read-only reader (the CLI, doctor) must not write: no ledger yet means nothing applied.
  if (db.readonly) {
    if (
      db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get() ===
      undefined
    )
      return [];
  } else {
    ensureLedger(db);
  }
  return db
    .prepare('SELECT version, name, sha256, applied_at FROM schema_migrations ORDER BY version')
    .all() as AppliedMigration[];
}

export interface MigrationStatus {
  applied: AppliedMigration[];
  pending: Migration[];
}

/**
 * Compares the ledger with the files. A shipped migration whose file changed after it was applied
 * is an error: migrations are append-only, a fix is a new file.
 */
export function migrationStatus(db: Db, migrations: readonly Migration[]): MigrationStatus {
  const applied = appliedMigrations(db);
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
  for (const a of applied) {
    const file = byVersion.get(a.version);
    if (!file) {
      throw new PsirtError(
        'unknown_migration',
        `the database has migration ${a.version} (${a.name}) that this version of psirt-inbox does not know; it is older than the database`,
      );
    }
    if (file.sha256 !== a.sha256) {
      throw new PsirtError(
        'migration_changed',
        `${file.file} changed after it was applied (recorded ${a.sha256.slice(0, 12)}, file ${file.sha256.slice(0, 12)}); migrations are append-only`,
      );
    }
  }
  const done = new Set(applied.map((a) => a.version));
  return { applied, pending: migrations.filter((m) => !done.has(m.version)) };
}

/**
 * Applies pending migrations in order, each in its own IMMEDIATE transaction with its ledger row,
 * so a crash leaves the schema at a whole version. Safe when several processes start at once: the
 * ledger is re-read inside the transaction.
 */
export function migrate(
  db: Db,
  migrations: readonly Migration[],
  clock: Clock,
  onApplied: (m: Migration) => void = () => undefined,
): Migration[] {
  const { pending } = migrationStatus(db, migrations);
  const applied: Migration[] = [];
  for (const m of pending) {
    const ran = (() => {
      try {
        return runOne(m);
      } catch (err) {
        throw new PsirtError('migration_failed', `${m.file}: ${(err as Error).message}`, { cause: err });
      }
    })();
    if (ran) {
      applied.push(m);
      onApplied(m);
    }
  }
  return applied;

  function runOne(m: Migration): boolean {
    return db
      .transaction(() => {
        const exists = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(m.version);
        if (exists) return false;
        db.exec(m.sql);
        db.prepare(
          'INSERT INTO schema_migrations (version, name, sha256, applied_at) VALUES (?, ?, ?, ?)',
        ).run(m.version, m.name, m.sha256, clock.now().toISOString());
        db.pragma(`user_version = ${m.version}`);
        return true;
      })
      .immediate();
  }
}
