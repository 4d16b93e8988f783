import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  databaseFacts,
  openCopy,
  quickCheck,
  recordRestore,
  spoolReferences,
  type DatabaseFacts,
} from '../7-cases/backup-store.js';
import type { Db } from '../7-cases/db.js';
import { migrationStatus, readMigrations } from '../7-cases/migrate.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { spoolDirFor } from '../core/paths.js';
import {
  DATABASE_FILE,
  hashFile,
  listFiles,
  MANIFEST,
  readManifest,
  SPOOL_FOLDER,
  type Manifest,
} from './backup-manifest.js';
import { cliProgressBar, copyHashed, type Progress } from './backup.js';
import { EXIT_FAILED, exitWith } from './context.js';
import { migrationsDir } from './doctor.js';
import { verifyProblems, verifyRecord } from './verify.js';

/**
 * `psirt restore DIR` (#13): puts a backup into an empty data folder. Everything is checked
 * first — every file against the manifest (no extra, none missing), the copied database's
 * migrations, counts and event head against the manifest, and every case's hash chain as
 * `psirt verify` checks it — and only then are the files copied in, under temporary names, and
 * renamed into place (the database last). Any mismatch writes nothing to the data folder.
 */

export class RestoreError extends Error {
  override name = 'RestoreError';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('; '));
    this.problems = problems;
  }
}

export interface RestoreDeps {
  clock: Clock;
  progress: Progress;
}

export interface RestoreResult {
  databasePath: string;
  manifest: Manifest;
}

const SPOOL_PATH = /^spool\/[A-Za-z0-9._-]+$/;

/** The configured data folder must be empty: no database (nor its WAL), an empty or no spool. */
async function targetProblems(dbPath: string, spoolDir: string): Promise<string[]> {
  const problems: string[] = [];
  if ([dbPath, `${dbPath}-wal`, `${dbPath}-shm`].some((p) => existsSync(p)))
    problems.push(
      `${dbPath} exists: restore only into an empty data folder (point database.path at a new file)`,
    );
  if (existsSync(spoolDir) && (await readdir(spoolDir)).length > 0)
    problems.push(`${spoolDir} is not empty: restore only into an empty data folder`);
  return problems;
}

/** The files of the backup folder against the manifest: every sum, no extra or missing file. */
async function fileProblems(dir: string, m: Manifest, progress: Progress): Promise<string[]> {
  const problems: string[] = [];
  const listed = await listFiles(dir);
  for (const o of listed.other) problems.push(`${o}: not a regular file`);
  const onDisk = new Set(listed.files.filter((f) => f !== MANIFEST));
  const seen = new Set<string>();
  progress.stage('files to check', m.files.length);
  for (const [i, f] of m.files.entries()) {
    if (seen.has(f.path)) problems.push(`${MANIFEST}: ${f.path} is listed twice`);
    seen.add(f.path);
    if (f.path !== DATABASE_FILE && !SPOOL_PATH.test(f.path)) {
      problems.push(`${MANIFEST}: ${f.path} is not a file a backup holds`);
      continue;
    }
    if (!onDisk.has(f.path)) {
      problems.push(`${f.path}: missing from the backup`);
      continue;
    }
    const got = await hashFile(join(dir, f.path));
    if (got.size !== f.size || got.sha256 !== f.sha256)
      problems.push(`${f.path}: its SHA-256 does not match the manifest (changed or damaged)`);
    progress.tick(i + 1);
  }
  for (const f of onDisk) if (!seen.has(f)) problems.push(`${f}: not in the manifest (an extra file)`);
  progress.done();
  return problems;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The copied database against the manifest, this version's migrations and its hash chains. */
function databaseProblems(db: Db, m: Manifest): string[] {
  const quick = quickCheck(db);
  if (quick !== null) return [`${DATABASE_FILE}: SQLite's quick_check fails: ${quick}`];
  const problems: string[] = [];
  try {
    // Pending migrations are fine (the service applies them at start); unknown or changed ones not.
    migrationStatus(db, readMigrations(migrationsDir()));
  } catch (err) {
    problems.push(`${DATABASE_FILE}: ${describeError(err)}`);
  }
  const facts: DatabaseFacts = databaseFacts(db);
  if (!same(facts.schema, m.database.schema))
    problems.push(`${DATABASE_FILE}: its applied migrations do not match the manifest`);
  if (!same(facts.counts, m.database.counts))
    problems.push(
      `${DATABASE_FILE}: ${facts.counts.cases} cases, ${facts.counts.messages} messages, ${facts.counts.events} events; the manifest says ${m.database.counts.cases}, ${m.database.counts.messages}, ${m.database.counts.events}`,
    );
  if (!same(facts.eventHead, m.database.eventHead))
    problems.push(`${DATABASE_FILE}: its last event does not match the manifest's event head`);
  const verdict = verifyRecord(db);
  if (!verdict.ok) problems.push(...verifyProblems(verdict).map((p) => `${DATABASE_FILE}: ${p}`));
  // Every spool file the database references is in the backup (or noted as purged), and no other.
  const inBackup = new Set(m.files.filter((f) => f.path !== DATABASE_FILE).map((f) => f.path));
  const vanished = new Set(m.vanished.map((v) => v.message));
  const referenced = new Set<string>();
  for (const ref of spoolReferences(db)) {
    const path = `${SPOOL_FOLDER}/${basename(ref.rawPath)}`;
    referenced.add(path);
    if (!inBackup.has(path) && !vanished.has(ref.rowId))
      problems.push(`message ${ref.rowId}: its spool file ${path} is not in the backup`);
  }
  for (const path of inBackup)
    if (!referenced.has(path)) problems.push(`${path}: no message of the database references it`);
  return problems;
}

/** Checks, then restores; throws RestoreError naming every problem (nothing written then). */
export async function restoreBackup(cfg: Config, source: string, deps: RestoreDeps): Promise<RestoreResult> {
  const dir = resolve(source);
  let manifest: Manifest;
  try {
    manifest = await readManifest(dir);
  } catch (err) {
    throw new RestoreError([describeError(err)]);
  }
  const dbPath = resolve(cfg.database.path);
  const spoolDir = spoolDirFor(dbPath);
  const target = await targetProblems(dbPath, spoolDir);
  if (target.length > 0) throw new RestoreError([...target, 'nothing restored']);
  const files = await fileProblems(dir, manifest, deps.progress);
  if (files.length > 0) throw new RestoreError([...files, 'nothing restored']);
  const copy = openCopy(join(dir, DATABASE_FILE), { readonly: true });
  let problems: string[];
  try {
    problems = databaseProblems(copy, manifest);
  } finally {
    copy.close();
  }
  if (problems.length > 0) throw new RestoreError([...problems, 'nothing restored']);
  await place(dir, manifest, dbPath, spoolDir, deps);
  return { databasePath: dbPath, manifest };
}

/** Copies the checked files in under temporary names, records the restore, renames them in place. */
async function place(
  dir: string,
  m: Manifest,
  dbPath: string,
  spoolDir: string,
  deps: RestoreDeps,
): Promise<void> {
  await mkdir(dirname(dbPath), { recursive: true, mode: 0o700 });
  const suffix = `.restoring-${String(process.pid)}`;
  const tempDb = `${dbPath}${suffix}`;
  const tempSpool = `${spoolDir}${suffix}`;
  const sums = new Map(m.files.map((f) => [f.path, f.sha256]));
  const spooled = m.files.filter((f) => f.path !== DATABASE_FILE);
  const changed = (path: string): RestoreError =>
    new RestoreError([`${path} changed while it was restored`, 'nothing restored']);
  try {
    if ((await copyHashed(join(dir, DATABASE_FILE), tempDb)).sha256 !== sums.get(DATABASE_FILE))
      throw changed(DATABASE_FILE);
    await mkdir(tempSpool, { mode: 0o700 });
    deps.progress.stage('spool files to copy', spooled.length);
    for (const [i, f] of spooled.entries()) {
      const name = basename(f.path);
      if ((await copyHashed(join(dir, f.path), join(tempSpool, name))).sha256 !== f.sha256)
        throw changed(f.path);
      deps.progress.tick(i + 1);
    }
    deps.progress.done();
    const db = openCopy(tempDb, { readonly: false });
    try {
      recordRestore(db, deps.clock, {
        takenAt: m.taken_at,
        toolVersion: m.tool.version,
        place: (rawPath) => join(spoolDir, basename(rawPath)),
      });
    } finally {
      db.close();
    }
    if (existsSync(spoolDir)) await rmdir(spoolDir); // empty: checked before
    await rename(tempSpool, spoolDir);
    await rename(tempDb, dbPath);
  } catch (err) {
    await rm(tempSpool, { recursive: true, force: true });
    await rm(tempDb, { force: true });
    await rm(`${tempDb}-journal`, { force: true });
    if (err instanceof RestoreError) throw err;
    throw new RestoreError([`restore failed: ${describeError(err)}`, 'nothing restored']);
  }
}

/** `psirt restore DIR`: exit 0 with a summary, 1 with one line per problem and nothing written. */
export async function restore(cfg: Config, dir: string, deps: { clock: Clock }): Promise<void> {
  const progress = cliProgressBar('restore');
  try {
    const { databasePath, manifest } = await restoreBackup(cfg, dir, { clock: deps.clock, progress });
    const c = manifest.database.counts;
    process.stdout.write(
      `restored the backup taken at ${manifest.taken_at} into ${databasePath}: ${c.cases} cases, ${c.messages} messages, ${c.events} events; every hash chain verifies. At its next start the intake moves mail filed after the backup back to the INBOX once.\n`,
    );
  } catch (err) {
    progress.done();
    if (err instanceof RestoreError) {
      for (const p of err.problems.slice(0, -1)) process.stderr.write(`psirt: ${p}\n`);
      exitWith(EXIT_FAILED, err.problems.at(-1) ?? 'nothing restored');
    }
    exitWith(EXIT_FAILED, `restore failed, nothing restored: ${describeError(err)}`);
  }
}
