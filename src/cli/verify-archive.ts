import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { extract as extractTar } from 'tar';
import type { Db } from '../7-cases/db.js';
import { eventHashes } from '../7-cases/evidence-heads.js';
import { describeError } from '../core/errors.js';
import type { TeamKey } from '../pgp/keyring.js';
import { checkTeamSignature } from '../pgp/verify-signature.js';

/**
 * `psirt verify --archive FILE` (#12 Deliver 4, "the chain heads against the evidence manifests
 * it wrote"): the heads in `evidence_exports` are the database's own copy, which whoever can
 * rewrite the chain can rewrite too. The signed archive is the copy that left the building: its
 * manifest is signed by a team key, every file must match it (none missing, none extra), and the
 * chain head and per-case heads its `evidence.json` recorded must still have their hashes.
 */

const MANIFEST = 'SHA256SUMS';
const SIGNATURE = 'SHA256SUMS.asc';

/** One head a signed archive recorded: the chain's (caseId null) or a case's last event. */
export interface SignedHead {
  caseId: string | null;
  eventId: number;
  hash: string;
}

/** What a signed archive that verifies on its own holds for the database check. */
export interface SignedArchive {
  archive: string;
  signer: string;
  files: number;
  chainHead: SignedHead | null;
  caseHeads: SignedHead[];
}

export type ArchiveRead = { ok: true; signed: SignedArchive } | { ok: false; problems: string[] };

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Every regular file below `root`, relative with '/', sorted. */
function filesBelow(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (lstatSync(path).isDirectory()) walk(path);
      else out.push(relative(root, path).split(sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

/** `sha256sum` lines "<hex>  <path>" → path → hex, or the first line that is not one. */
export function parseManifest(text: string): Map<string, string> | string {
  const listed = new Map<string, string>();
  const lines = (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
  for (const [i, line] of lines.entries()) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    const path = m?.[2];
    if (m === null || path === undefined)
      return `${MANIFEST} line ${String(i + 1)} is not "<sha256>  <file>"`;
    if (path.startsWith('/') || path.split('/').includes('..') || path.startsWith(MANIFEST))
      return `${MANIFEST} line ${String(i + 1)} names a file outside the archive folder`;
    if (listed.has(path)) return `${MANIFEST} lists ${path} twice`;
    listed.set(path, m[1] ?? '');
  }
  return listed;
}

/** Files missing, extra or changed against the manifest, in path order. */
export function fileProblems(root: string, listed: ReadonlyMap<string, string>): string[] {
  const present = filesBelow(root).filter((f) => f !== MANIFEST && f !== SIGNATURE);
  const problems: string[] = [];
  for (const path of [...new Set([...listed.keys(), ...present])].sort()) {
    const want = listed.get(path);
    if (want === undefined) problems.push(`${path} is not listed in ${MANIFEST} (an extra file)`);
    else if (!present.includes(path)) problems.push(`${path} is listed in ${MANIFEST} but missing`);
    else if (sha256(readFileSync(join(root, ...path.split('/')))) !== want)
      problems.push(`${path} does not match its sha256 in ${MANIFEST}`);
  }
  return problems;
}

const isHead = (v: unknown): v is { eventId: number; hash: string } =>
  typeof v === 'object' &&
  v !== null &&
  Number.isInteger((v as { eventId?: unknown }).eventId) &&
  typeof (v as { hash?: unknown }).hash === 'string';

/** The chain head and per-case heads of a signed evidence.json, or why it holds none. */
export function headsOf(json: unknown): { chainHead: SignedHead | null; caseHeads: SignedHead[] } | string {
  const doc = json as {
    format?: unknown;
    chain?: { head?: unknown };
    cases?: { id?: unknown; chain?: { headEventId?: unknown; headHash?: unknown } }[];
  } | null;
  if (doc?.format !== 'psirt-evidence/1' || !Array.isArray(doc.cases))
    return 'evidence.json is not a psirt-evidence/1 document';
  const head = doc.chain?.head;
  if (head !== null && !isHead(head)) return 'evidence.json has no readable chain head';
  const caseHeads: SignedHead[] = [];
  for (const c of doc.cases) {
    const eventId = c.chain?.headEventId;
    const hash = c.chain?.headHash;
    // A case whose chain was already broken at export recorded no head: nothing to hold it to.
    if (eventId === null || eventId === undefined) continue;
    if (typeof c.id !== 'string' || !Number.isInteger(eventId) || typeof hash !== 'string')
      return 'evidence.json has a case without a readable chain head';
    caseHeads.push({ caseId: c.id, eventId: eventId as number, hash });
  }
  return { chainHead: head === null ? null : { caseId: null, ...head }, caseHeads };
}

/** Unpacks regular files and folders only; anything else (links, devices) is named and refused. */
async function unpack(file: string, into: string): Promise<string | null> {
  let refused: string | null = null;
  try {
    await extractTar({
      file,
      cwd: into,
      strict: true,
      filter: (path, entry) => {
        const type = 'type' in entry ? entry.type : entry.isDirectory() ? 'Directory' : 'File';
        if (type === 'File' || type === 'OldFile' || type === 'Directory') return true;
        refused ??= `it holds ${path}, which is not a regular file or folder`;
        return false;
      },
    });
  } catch (err) {
    return `cannot read it as a .tar.gz: ${describeError(err)}`;
  }
  return refused;
}

/** Checks the archive on its own: one folder, a team signature over the manifest, every file. */
async function checkUnpacked(
  archive: string,
  into: string,
  teamKeys: readonly TeamKey[],
  date: Date,
): Promise<ArchiveRead> {
  const fail = (...problems: string[]): ArchiveRead => ({ ok: false, problems });
  const top = readdirSync(into);
  const folder = top[0];
  if (top.length !== 1 || folder === undefined || !lstatSync(join(into, folder)).isDirectory())
    return fail('it does not hold exactly one evidence folder');
  const root = join(into, folder);
  const present = new Set(readdirSync(root));
  for (const name of [MANIFEST, SIGNATURE]) if (!present.has(name)) return fail(`it has no ${name}`);
  const manifest = readFileSync(join(root, MANIFEST));
  const check = await checkTeamSignature(
    manifest,
    readFileSync(join(root, SIGNATURE), 'utf8'),
    teamKeys,
    date,
  );
  if (check.state !== 'valid') {
    const why =
      check.state === 'invalid'
        ? `: ${check.reason}`
        : check.state === 'unknown-key'
          ? `: signed by ${check.keyId}, not a configured team key`
          : '';
    return fail(`${SIGNATURE} is not a valid signature of ${MANIFEST} by a team key${why}`);
  }
  const listed = parseManifest(manifest.toString('utf8'));
  if (typeof listed === 'string') return fail(listed);
  const problems = fileProblems(root, listed);
  if (problems.length > 0) return fail(...problems);
  if (!listed.has('evidence.json')) return fail(`evidence.json is not listed in ${MANIFEST}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(join(root, 'evidence.json'), 'utf8'));
  } catch (err) {
    return fail(`evidence.json is not JSON: ${describeError(err)}`);
  }
  const heads = headsOf(json);
  if (typeof heads === 'string') return fail(heads);
  return { ok: true, signed: { archive, signer: check.fingerprint, files: listed.size, ...heads } };
}

/** Unpacks `archive` into a temporary folder, checks it there, and removes the folder. */
export async function readSignedArchive(
  archive: string,
  teamKeys: readonly TeamKey[],
  date: Date,
): Promise<ArchiveRead> {
  const into = mkdtempSync(join(tmpdir(), 'psirt-verify-'));
  try {
    const refused = await unpack(archive, into);
    if (refused !== null) return { ok: false, problems: [refused] };
    return await checkUnpacked(archive, into, teamKeys, date);
  } finally {
    rmSync(into, { recursive: true, force: true });
  }
}

/**
 * Each signed head against the database now, earliest event first (a case's head before the
 * chain head on the same event): one line per head whose event is gone or has another hash.
 */
export function headProblems(db: Db, signed: SignedArchive): string[] {
  const heads = [...signed.caseHeads, ...(signed.chainHead === null ? [] : [signed.chainHead])].sort(
    (a, b) => a.eventId - b.eventId || (a.caseId === null ? 1 : 0) - (b.caseId === null ? 1 : 0),
  );
  const now = eventHashes(
    db,
    heads.map((h) => h.eventId),
  );
  const problems: string[] = [];
  for (const h of heads) {
    const whose = h.caseId === null ? 'chain head' : `case ${h.caseId}`;
    const hash = now.get(h.eventId);
    if (hash === undefined) problems.push(`${whose}: event ${String(h.eventId)} no longer exists`);
    else if (hash !== h.hash)
      problems.push(`${whose}: event ${String(h.eventId)} hash differs from the signed archive`);
  }
  return problems;
}

/** The all-good line of one archive. */
export function archiveSummary(signed: SignedArchive): string {
  const head =
    signed.chainHead === null
      ? 'no chain head (an archive of no events)'
      : `chain head event ${String(signed.chainHead.eventId)}`;
  return `ok: archive ${signed.archive}: SHA256SUMS signed by ${signed.signer}; ${String(signed.files)} files match it, none missing or extra; ${head} and the heads of ${String(signed.caseHeads.length)} cases match the database`;
}
