import { caseProgress } from './progress.js';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readerVaultOf } from './records.js';
import { create as createTar } from 'tar';
import { createCalendar } from '../calendar/calendar.js';
import { openDatabase } from '../7-cases/db.js';
import { readEvidenceSnapshot, recordEvidenceExport } from '../7-cases/evidence-store.js';
import { configDigest } from '../config/digest.js';
import type { Config } from '../config/schema.js';
import { systemClock, type Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { buildEvidencePack, type EvidencePackInput } from '../evidence/pack.js';
import { loadTeamKeys, type TeamKey } from '../pgp/keyring.js';
import { detachedSign } from '../pgp/sign-and-encrypt.js';
import { EXIT_CONFIG, EXIT_FAILED, exitWith, withCaseDatabase } from './context.js';

/**
 * `psirt evidence --from DATE --to DATE` (issue #12 Deliver 3): one archive for an audit period.
 *   1. read the period's rows and verify the event chain, from one read-only snapshot;
 *   2. build the pack (pure, src/evidence) and write it into a staging folder;
 *   3. SHA256SUMS over every file, SHA256SUMS.asc by the first team key (wall-clock date);
 *   4. tar + gzip the folder; record the archive (the one write) in evidence_exports.
 * What it prints and logs is counts, ids and digests: never a subject, a body or a secret.
 */

export interface EvidenceOptions {
  from: string;
  to: string;
  out?: string;
  includeSubjects?: boolean;
  json?: boolean;
}

export interface EvidenceDeps {
  /** The program documents of a configuration (src/program/render.ts). */
  renderProgram: EvidencePackInput['renderProgram'];
  clock?: Clock;
}

/** A calendar date YYYY-MM-DD that exists, or exit 2 naming the option. */
export function isoDate(value: string, option: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const d = m === null ? null : new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  if (d === null || d.toISOString().slice(0, 10) !== value)
    exitWith(EXIT_CONFIG, `${option} must be a date YYYY-MM-DD (got "${value}")`);
  return value;
}

/** `sha256sum` format: "<hex>  <path>" per file, sorted by path, so `sha256sum -c` checks it. */
export function manifestOf(files: readonly { path: string; content: string | Uint8Array }[]): string {
  return [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => `${createHash('sha256').update(f.content).digest('hex')}  ${f.path}\n`)
    .join('');
}

/**
 * The archive's folder (made when missing) and a staging directory in it, or exit 1 with one line
 * naming the file (a parent that is a file, a folder not writable). `created`: the first folder
 * made here, removed again when the export fails, so nothing of it is left behind.
 */
function stagingFor(out: string): { staging: string; created: string | undefined } {
  let created: string | undefined;
  try {
    created = mkdirSync(dirname(out), { recursive: true });
    return { staging: mkdtempSync(join(dirname(out), '.psirt-evidence-')), created };
  } catch (err) {
    if (created !== undefined) rmSync(created, { recursive: true, force: true });
    exitWith(EXIT_FAILED, `cannot write ${out}: ${describeError(err)}`);
  }
}

export async function evidence(cfg: Config, opts: EvidenceOptions, deps: EvidenceDeps): Promise<void> {
  const from = isoDate(opts.from, '--from');
  const to = isoDate(opts.to, '--to');
  if (from > to) exitWith(EXIT_CONFIG, `--from (${from}) must not be after --to (${to})`);
  const clock = deps.clock ?? systemClock;
  const calendar = createCalendar(cfg.calendar);
  const out = resolve(opts.out ?? `psirt-evidence-${from}-${to}.tar.gz`);
  const includeSubjects = opts.includeSubjects ?? false;

  let teamKey: TeamKey;
  try {
    const keys = await loadTeamKeys(cfg.pgp, clock);
    const first = keys[0];
    if (first === undefined) exitWith(EXIT_CONFIG, 'pgp.keys: no team key configured to sign the manifest');
    teamKey = first;
  } catch (err) {
    exitWith(EXIT_FAILED, `cannot sign the evidence manifest: ${describeError(err)}`);
  }

  // The sealed subjects open with the team keys already unlocked to sign (#13), read-only.
  const vault = includeSubjects ? await readerVaultOf(cfg, clock) : undefined;
  const { period, chain, earlierArchives } = withCaseDatabase(cfg, (db) =>
    readEvidenceSnapshot(db, {
      from: calendar.startOfDay(from),
      to: calendar.endOfDay(to),
      includeSubjects,
      ...(vault === undefined ? {} : { vault }),
    }),
  );
  const generatedAt = clock.now();
  const bar = caseProgress('evidence', 250);
  let pack: ReturnType<typeof buildEvidencePack>;
  try {
    pack = buildEvidencePack({
      period: { from, to },
      generatedAt,
      config: cfg,
      calendar,
      data: period,
      chain,
      earlierArchives,
      includeSubjects,
      current: {
        configDigest: configDigest(cfg),
        teamKey: { fingerprint: teamKey.fingerprint, expires: teamKey.expires },
      },
      renderProgram: deps.renderProgram,
      onCase: bar.onCase,
    });
  } finally {
    bar.stop();
  }

  const folder = `psirt-evidence-${from}-${to}`;
  const { staging, created } = stagingFor(out);
  let manifestSha256 = '';
  let failure: unknown = null;
  try {
    const root = join(staging, folder);
    for (const f of pack.files) {
      const path = join(root, ...f.path.split('/'));
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, f.content);
    }
    const manifest = manifestOf(pack.files);
    writeFileSync(join(root, 'SHA256SUMS'), manifest);
    // Signed at the wall clock: gpg checks the signature against the key's validity now.
    const signature = await detachedSign(Buffer.from(manifest, 'utf8'), teamKey);
    writeFileSync(join(root, 'SHA256SUMS.asc'), signature);
    manifestSha256 = createHash('sha256')
      .update(readFileSync(join(root, 'SHA256SUMS')))
      .digest('hex');
    // Written beside the folder inside the staging directory, then renamed into place (same
    // file system): a failure half-way never leaves a partial archive at `out`.
    const partial = join(staging, 'archive.tar.gz');
    await createTar({ gzip: true, file: partial, cwd: staging, portable: true }, [folder]);
    renameSync(partial, out);
  } catch (err) {
    failure = err;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  if (failure !== null) {
    if (created !== undefined) rmSync(created, { recursive: true, force: true });
    exitWith(EXIT_FAILED, `cannot write ${out}: ${describeError(failure)}`);
  }

  // The one write of the command: the archive and the chain head it covers (psirt verify).
  const db = openDatabase(cfg.database.path, { mustExist: true });
  try {
    recordEvidenceExport(db, {
      writtenAt: generatedAt,
      periodFrom: from,
      periodTo: to,
      head: chain.head,
      manifestSha256,
      archive: basename(out),
    });
  } finally {
    db.close();
  }

  const result = {
    archive: out,
    period: { from, to },
    cases: pack.summary.cases,
    missedStages: pack.summary.missedStages,
    brokenChains: pack.summary.brokenChains,
    serviceChainBroken: pack.summary.serviceChainBroken,
    rewrittenSinceArchives: pack.summary.rewrittenSinceArchives,
    noStartRecorded: pack.summary.noStartRecorded,
    files: pack.files.length + 2,
    head: chain.head,
    manifestSha256,
  };
  // The archive is written either way (it reports the break); the exit code tells a script.
  const broken = result.brokenChains > 0 || result.serviceChainBroken || result.rewrittenSinceArchives > 0;
  if (broken) process.exitCode = EXIT_FAILED;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const lines = [
    `wrote ${out}`,
    `  ${String(result.cases)} cases, ${String(result.missedStages)} missed stages, ${String(result.brokenChains)} broken case chains${result.serviceChainBroken ? ' (and the service events chain is broken)' : ''}`,
    ...(result.rewrittenSinceArchives > 0
      ? [
          `  the chain was rewritten since ${String(result.rewrittenSinceArchives)} earlier archive(s): see index.md`,
        ]
      : []),
    `  ${String(result.files)} files; manifest SHA256SUMS sha256 ${manifestSha256}, signed by ${teamKey.fingerprint}`,
  ];
  if (result.noStartRecorded)
    lines.push(
      '  no start of the service was recorded in or before the period: documents of the configuration at export',
    );
  process.stdout.write(`${lines.join('\n')}\n`);
}
