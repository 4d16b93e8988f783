import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import cliProgress from 'cli-progress';
import {
  copyDatabase,
  databaseFacts,
  openCopy,
  quickCheck,
  spoolReferences,
  stillSpooled,
  type SpoolReference,
} from '../7-cases/backup-store.js';
import { openDatabase, openExisting } from '../7-cases/db.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { packageVersion } from '../core/paths.js';
import {
  DATABASE_FILE,
  hashFile,
  MANIFEST,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  SPOOL_FOLDER,
  type Manifest,
  type ManifestFile,
  type VanishedSpoolFile,
} from './backup-manifest.js';
import { EXIT_FAILED, exitWith } from './context.js';

/**
 * `psirt backup DIR` (#13): a consistent copy of the records while the service runs — the SQLite
 * file through the online backup API, then every spool file the copied database references, then
 * manifest.json with sizes and SHA-256 sums. Everything is written into a private temporary
 * folder beside DIR and renamed to DIR at the end, so a crashed backup never looks complete.
 * Report content is copied as it lies at rest (sealed to the team key): the copy is as worthless
 * without that key as the data folder is.
 */

export class BackupError extends Error {
  override name = 'BackupError';
}

/** Progress of long work on stderr: a bar on a terminal, otherwise a line per stage. */
export interface Progress {
  stage(name: string, total: number): void;
  tick(done: number): void;
  done(): void;
}

export function cliProgressBar(verb: string): Progress {
  if (process.stderr.isTTY) {
    let bar: cliProgress.SingleBar | null = null;
    return {
      stage(name, total) {
        bar?.stop();
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: `${verb} ${name} [{bar}] {value}/{total}`,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0);
      },
      tick: (n) => bar?.update(n),
      done: () => bar?.stop(),
    };
  }
  let current = { name: '', total: 0, shown: -1 };
  return {
    stage(name, total) {
      current = { name, total, shown: -1 };
      process.stderr.write(`psirt: ${verb}: ${String(total)} ${name}\n`);
    },
    tick(n) {
      // One line per tenth of longer work, so a log shows it moving without a line per file.
      const tenth = current.total === 0 ? 10 : Math.floor((n * 10) / current.total);
      if (current.total >= 20 && tenth > current.shown && tenth < 10 && n > 0) {
        current.shown = tenth;
        process.stderr.write(`psirt: ${verb}: ${String(n)}/${String(current.total)} ${current.name}\n`);
      }
    },
    done: () => undefined,
  };
}

export const silentProgress: Progress = {
  stage: () => undefined,
  tick: () => undefined,
  done: () => undefined,
};

export interface BackupDeps {
  clock: Clock;
  progress: Progress;
  /** Notes for the operator (a purged spool file), one line each. */
  note: (line: string) => void;
  /** Tests only: runs between the database copy and the spool copy (a purge happening then). */
  afterDatabaseCopy?: () => void;
}

export interface BackupResult {
  dir: string;
  manifest: Manifest;
}

/** DIR may not exist, or be an empty folder. */
async function checkTarget(dir: string): Promise<void> {
  let st;
  try {
    st = await stat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new BackupError(`cannot use ${dir}: ${describeError(err)}`);
  }
  if (!st.isDirectory())
    throw new BackupError(`${dir} exists and is not a folder: name a new or empty folder`);
  if ((await readdir(dir)).length > 0)
    throw new BackupError(`${dir} is not empty: name a new or empty folder (nothing written)`);
}

/** Writes `data` durably with mode 0600. */
async function writePrivate(path: string, data: string): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Copies one file (0600, fsynced), hashing the bytes as they pass. */
export async function copyHashed(from: string, to: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  // Opened first: a missing source (ENOENT) fails before anything is written.
  const src = await open(from, 'r');
  try {
    await pipeline(
      src.createReadStream({ autoClose: false }),
      tap,
      createWriteStream(to, { flags: 'wx', mode: 0o600 }),
    );
  } finally {
    await src.close();
  }
  const fh = await open(to, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { size, sha256: hash.digest('hex') };
}

/** Takes the backup into `target`; throws BackupError (one line) when it cannot. */
export async function takeBackup(cfg: Config, target: string, deps: BackupDeps): Promise<BackupResult> {
  const dir = resolve(target);
  await checkTarget(dir);
  const live = openExisting(cfg.database.path);
  if (live.state === 'missing')
    throw new BackupError(`no database at ${cfg.database.path}: nothing to back up`);
  if (live.state === 'unreadable')
    throw new BackupError(`cannot read the database at ${cfg.database.path}: ${describeError(live.error)}`);
  live.db.close();

  const parent = dirname(dir);
  await mkdir(parent, { recursive: true, mode: 0o700 });
  const temp = join(parent, `.${basename(dir)}.partial-${String(process.pid)}`);
  await mkdir(temp, { mode: 0o700 });
  try {
    const manifest = await writeBackup(cfg, temp, deps);
    // An existing empty DIR is replaced (rename(2) onto an empty folder).
    await rename(temp, dir);
    await chmod(dir, 0o700);
    return { dir, manifest };
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    if (err instanceof BackupError) throw err;
    throw new BackupError(`backup failed, nothing kept: ${describeError(err)}`, { cause: err });
  }
}

async function writeBackup(cfg: Config, temp: string, deps: BackupDeps): Promise<Manifest> {
  const takenAt = deps.clock.now().toISOString();
  const dbCopy = join(temp, DATABASE_FILE);
  // Read-only, like every reader of a live database: it reads the WAL, it never writes.
  const source = openDatabase(cfg.database.path, { readonly: true });
  try {
    let started = false;
    await copyDatabase(source, dbCopy, (copied, total) => {
      if (!started) deps.progress.stage('database pages to copy', total);
      started = true;
      deps.progress.tick(copied);
    });
  } finally {
    source.close();
  }
  await chmod(dbCopy, 0o600);
  deps.afterDatabaseCopy?.();

  const copy = openCopy(dbCopy, { readonly: true });
  let refs: SpoolReference[];
  let facts;
  try {
    const problem = quickCheck(copy);
    if (problem !== null) throw new BackupError(`the database copy fails SQLite's quick_check: ${problem}`);
    refs = spoolReferences(copy);
    facts = databaseFacts(copy);
  } finally {
    copy.close();
  }

  const files: ManifestFile[] = [{ path: DATABASE_FILE, ...(await hashFile(dbCopy)) }];
  const vanished: VanishedSpoolFile[] = [];
  const names = new Set<string>();
  if (refs.length > 0) await mkdir(join(temp, SPOOL_FOLDER), { mode: 0o700 });
  deps.progress.stage('spool files to copy', refs.length);
  for (const [i, ref] of refs.entries()) {
    const name = basename(ref.rawPath);
    if (names.has(name))
      throw new BackupError(
        `messages share the spool file name ${name}: cannot back up both (message ${ref.rowId})`,
      );
    names.add(name);
    const path = `${SPOOL_FOLDER}/${name}`;
    try {
      files.push({ path, ...(await copyHashed(ref.rawPath, join(temp, SPOOL_FOLDER, name))) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (liveStillSpooled(cfg, ref))
        throw new BackupError(
          `spool file ${ref.rawPath} of message ${ref.rowId} is missing, and the database still needs it: restore it or investigate (no backup written)`,
        );
      vanished.push({ message: ref.rowId, file: path, reason: 'purged in the live database after the copy' });
      deps.note(
        `message ${ref.rowId}: its spool file was purged after the database copy (noted in the manifest)`,
      );
    }
    deps.progress.tick(i + 1);
  }
  deps.progress.done();

  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    tool: { name: 'psirt-inbox', version: packageVersion() },
    taken_at: takenAt,
    database: { file: DATABASE_FILE, ...facts },
    vanished,
    files: files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
  await writePrivate(join(temp, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Re-checks a message whose spool file vanished, in the live database. */
function liveStillSpooled(cfg: Config, ref: SpoolReference): boolean {
  const live = openExisting(cfg.database.path);
  if (live.state !== 'open')
    throw new BackupError(`cannot re-check message ${ref.rowId} in the live database (${live.state})`);
  try {
    return stillSpooled(live.db, ref);
  } finally {
    live.db.close();
  }
}

/** `psirt backup DIR`: exit 0 with a one-line summary, 1 naming what went wrong. */
export async function backup(cfg: Config, dir: string, deps: { clock: Clock }): Promise<void> {
  const progress = cliProgressBar('backup');
  try {
    const { dir: written, manifest } = await takeBackup(cfg, dir, {
      clock: deps.clock,
      progress,
      note: (line) => process.stderr.write(`psirt: ${line}\n`),
    });
    const c = manifest.database.counts;
    const spooled = manifest.files.length - 1;
    process.stdout.write(
      `backup written to ${written}: ${c.cases} cases, ${c.messages} messages, ${c.events} events, ${spooled} spool files (taken at ${manifest.taken_at})\n`,
    );
  } catch (err) {
    progress.done();
    exitWith(EXIT_FAILED, err instanceof BackupError ? err.message : `backup failed: ${describeError(err)}`);
  }
}
