import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import type { DatabaseFacts } from '../7-cases/backup-store.js';

/**
 * manifest.json of a backup folder (#13): what `psirt backup` copied and `psirt restore` checks
 * before it writes anything. Paths are relative to the backup folder, with `/`.
 */

export const MANIFEST = 'manifest.json';
export const MANIFEST_FORMAT = 'psirt-inbox-backup';
export const MANIFEST_VERSION = 1;
/** The database copy inside the backup folder. */
export const DATABASE_FILE = 'database.sqlite';
/** The spool files, by their base name. */
export const SPOOL_FOLDER = 'spool';

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

/** A spool file the copied database references that a retention purge removed meanwhile. */
export interface VanishedSpoolFile {
  message: number;
  file: string;
  reason: 'purged in the live database after the copy';
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  tool: { name: 'psirt-inbox'; version: string };
  /** When the copy started: everything committed before it is in the copy. */
  taken_at: string;
  database: { file: string } & DatabaseFacts;
  vanished: VanishedSpoolFile[];
  files: ManifestFile[];
}

/** SHA-256 and size of a file, streamed. */
export async function hashFile(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest('hex') };
}

/** Every regular file below `root`, as manifest paths (`/`), sorted; other entries are named too. */
export async function listFiles(root: string): Promise<{ files: string[]; other: string[] }> {
  const files: string[] = [];
  const other: string[] = [];
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    const path = relative(root, join(e.parentPath, e.name)).split(sep).join(posix.sep);
    if (e.isFile()) files.push(path);
    else if (!e.isDirectory()) other.push(path);
  }
  return { files: files.sort(), other: other.sort() };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads and checks the shape of a manifest; throws one line naming what is wrong. The checks of
 * the files and the database against it are the restore's.
 */
export async function readManifest(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST), 'utf8');
  } catch {
    throw new Error(`${join(dir, MANIFEST)} is missing: not a complete psirt backup`);
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    throw new Error(`${MANIFEST} is not valid JSON`);
  }
  const bad = (what: string): never => {
    throw new Error(`${MANIFEST}: ${what}`);
  };
  if (!isObject(m)) return bad('not a JSON object');
  if (m.format !== MANIFEST_FORMAT) bad(`format is not "${MANIFEST_FORMAT}"`);
  if (m.version !== MANIFEST_VERSION)
    bad(`version ${JSON.stringify(m.version)} is not ${MANIFEST_VERSION} (written by another psirt-inbox)`);
  if (typeof m.taken_at !== 'string' || Number.isNaN(Date.parse(m.taken_at))) bad('taken_at is not a time');
  if (!isObject(m.tool) || typeof m.tool.version !== 'string') bad('tool.version is missing');
  const db = m.database;
  if (!isObject(db) || db.file !== DATABASE_FILE) bad(`database.file is not "${DATABASE_FILE}"`);
  if (!Array.isArray(m.files)) bad('files is not a list');
  for (const f of m.files as unknown[]) {
    if (
      !isObject(f) ||
      typeof f.path !== 'string' ||
      typeof f.size !== 'number' ||
      typeof f.sha256 !== 'string' ||
      !/^[0-9a-f]{64}$/.test(f.sha256)
    )
      bad(`files: an entry is not {path, size, sha256}: ${JSON.stringify(f).slice(0, 120)}`);
  }
  if (!Array.isArray(m.vanished)) bad('vanished is not a list');
  return m as unknown as Manifest;
}
