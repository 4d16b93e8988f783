import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/7-cases/db.js';
import { migrate, readMigrations } from '../../src/7-cases/migrate.js';
import { fixedClock } from '../../src/core/clock.js';
import { REPO } from './stack.js';

export const MIGRATIONS_DIR = join(REPO, 'migrations');

/** A fresh SQLite file in the OS temp dir (never shared between tests). */
export function tempDbPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'psirt-db-')), 'psirt.db');
}

/** A fresh database with every shipped migration applied. */
export function migratedDb(clock = fixedClock('2026-11-24T12:00:00Z'), path = tempDbPath()): Db {
  const db = openDatabase(path);
  migrate(db, readMigrations(MIGRATIONS_DIR), clock);
  return db;
}
