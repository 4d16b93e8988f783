import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, mkdtempSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/7-cases/db.js';
import { migrate, migrationStatus, readMigrations } from '../../../src/7-cases/migrate.js';
import { fixedClock } from '../../../src/core/clock.js';
import { MIGRATIONS_DIR, tempDbPath } from '../../support/db.js';
import { REPO } from '../../support/stack.js';

const clock = fixedClock('2026-11-24T12:00:00Z');
const execFileAsync = promisify(execFile);

function copyOfMigrations(): string {
  const dir = mkdtempSync(join(tmpdir(), 'psirt-mig-'));
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

describe('migrations', () => {
  it('apply to an empty file and create every table of the first schema', () => {
    const db = openDatabase(tempDbPath());
    const applied = migrate(db, readMigrations(MIGRATIONS_DIR), clock);
    expect(applied.length).toBeGreaterThanOrEqual(7);
    const tables = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]
    ).map((t) => t.name);
    expect(tables).toEqual(
      expect.arrayContaining([
        'cases',
        'messages',
        'events',
        'outbox',
        'deadlines',
        'reporter_keys',
        'intake_checkpoints',
      ]),
    );
    expect(db.pragma('user_version', { simple: true })).toBe(applied.length);
    db.close();
  });

  it('are a no-op the second time', () => {
    const path = tempDbPath();
    const first = openDatabase(path);
    migrate(first, readMigrations(MIGRATIONS_DIR), clock);
    const ledger = first.prepare('SELECT * FROM schema_migrations').all();
    first.close();
    const second = openDatabase(path);
    expect(migrate(second, readMigrations(MIGRATIONS_DIR), clock)).toEqual([]);
    expect(second.prepare('SELECT * FROM schema_migrations').all()).toEqual(ledger);
    second.close();
  });

  it('leave shipped files unchanged: each matches migrations/SHIPPED.sha256 (append-only)', () => {
    const lock = readFileSync(join(MIGRATIONS_DIR, 'SHIPPED.sha256'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/) as [string, string]);
    const files = readMigrations(MIGRATIONS_DIR);
    const byFile = new Map(files.map((m) => [m.file, m.sha256]));
    for (const [digest, file] of lock) expect({ file, digest: byFile.get(file) }).toEqual({ file, digest });
    // A new migration must be added to the lock in the same change that ships it.
    expect(files.map((m) => m.file)).toEqual(lock.map(([, file]) => file));
  });

  it('refuse to run when an applied migration file changed afterwards', () => {
    const dir = copyOfMigrations();
    const db = openDatabase(tempDbPath());
    migrate(db, readMigrations(dir), clock);
    appendFileSync(join(dir, '0001_cases.sql'), '\n-- edited after release\n');
    expect(() => migrate(db, readMigrations(dir), clock)).toThrow(
      /0001_cases\.sql changed after it was applied/,
    );
    db.close();
  });

  it('apply a new file appended after the shipped ones, and only that one', () => {
    const dir = copyOfMigrations();
    const db = openDatabase(tempDbPath());
    const before = migrate(db, readMigrations(dir), clock).length;
    const next = String(before + 1).padStart(4, '0');
    writeFileSync(join(dir, `${next}_extra.sql`), 'CREATE TABLE extra (id INTEGER PRIMARY KEY);');
    expect(migrate(db, readMigrations(dir), clock).map((m) => m.file)).toEqual([`${next}_extra.sql`]);
    expect(migrationStatus(db, readMigrations(dir)).pending).toEqual([]);
    db.close();
  });

  it('roll back a failing migration whole, leaving the ledger at the last good version', () => {
    const dir = copyOfMigrations();
    const db = openDatabase(tempDbPath());
    const before = migrate(db, readMigrations(dir), clock).length;
    const next = String(before + 1).padStart(4, '0');
    writeFileSync(join(dir, `${next}_broken.sql`), 'CREATE TABLE half (id INTEGER);\nTHIS IS NOT SQL;');
    expect(() => migrate(db, readMigrations(dir), clock)).toThrow(`${next}_broken.sql: `);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined();
    expect(migrationStatus(db, readMigrations(dir)).pending.map((m) => m.file)).toEqual([
      `${next}_broken.sql`,
    ]);
    db.close();
  });

  it('refuse a gap in the numbering', () => {
    const dir = copyOfMigrations();
    writeFileSync(join(dir, '0099_far.sql'), 'SELECT 1;');
    expect(() => readMigrations(dir)).toThrow(/0099_far\.sql: expected version/);
  });

  it('apply once when two processes migrate the same file at the same time', async () => {
    const path = tempDbPath();
    const script = `
      import { openDatabase } from './src/7-cases/db.ts';
      import { migrate, readMigrations } from './src/7-cases/migrate.ts';
      const db = openDatabase(${JSON.stringify(path)});
      const n = migrate(db, readMigrations('migrations'), { now: () => new Date() }).length;
      process.stdout.write(String(n));`;
    const run = async (): Promise<string> =>
      (
        await execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
          cwd: REPO,
        })
      ).stdout;
    const counts = await Promise.all([run(), run()]);
    const total = counts.map(Number).reduce((a, b) => a + b, 0);
    expect(total).toBe(readMigrations(MIGRATIONS_DIR).length);
    const db = openDatabase(path);
    expect((db.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(total);
    db.close();
  });
});
