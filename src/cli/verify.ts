import type { Db } from '../7-cases/db.js';
import { evidenceHeads, type EvidenceHead } from '../7-cases/evidence-heads.js';
import {
  casesWithoutEvents,
  verifyCaseChains,
  type CaseChainVerdict,
  type ChainReport,
} from '../7-cases/events.js';
import type { Config } from '../config/schema.js';
import { systemClock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { loadTeamKeys, type TeamKey } from '../pgp/keyring.js';
import { EXIT_CONFIG, EXIT_FAILED, exitWith, withCaseDatabase } from './context.js';
import { archiveSummary, headProblems, readSignedArchive, type ArchiveRead } from './verify-archive.js';

/**
 * `psirt verify` (#12 Deliver 4): checks every case's part of the event hash chain and every
 * evidence archive's chain head, so anyone holding the database (or a shared timeline) can show
 * that no recorded event was changed, recomputed or removed.
 */

export type HeadState = 'match' | 'empty' | 'missing' | 'changed';

export interface HeadVerdict extends EvidenceHead {
  /** empty: the archive covered no events; missing: its head row is gone; changed: other hash. */
  state: HeadState;
}

export interface VerifyResult {
  ok: boolean;
  events: number;
  /** Cases with at least one event (events of no case are checked, not counted here). */
  cases: number;
  chain: ChainReport;
  /** Cases with no event in the chain at all: their events were removed (a break). */
  casesWithoutEvents: string[];
  heads: HeadVerdict[];
}

function headState(h: EvidenceHead): HeadState {
  if (h.headEventId === null) return 'empty';
  if (h.currentHash === null) return 'missing';
  return h.currentHash === h.headHash ? 'match' : 'changed';
}

/** Reads the chain and the evidence heads in one snapshot (a read transaction) and judges them. */
export function verifyRecord(db: Db): VerifyResult {
  return db.transaction((): VerifyResult => {
    const chain = verifyCaseChains(db);
    const empty = casesWithoutEvents(db);
    const heads = evidenceHeads(db).map((h) => ({ ...h, state: headState(h) }));
    const cases = [...chain.cases.values()].filter((v) => v.caseId !== null).length;
    const ok =
      chain.firstBroken === null &&
      empty.length === 0 &&
      heads.every((h) => h.state === 'match' || h.state === 'empty');
    return { ok, events: chain.events, cases, chain, casesWithoutEvents: empty, heads };
  })();
}

const whose = (caseId: string | null): string => (caseId === null ? 'events of no case' : `case ${caseId}`);

/** "event 42 content does not match its hash"; the other reasons read after a colon. */
const eventProblem = (eventId: number, reason: string): string =>
  reason.startsWith('content ') ? `event ${eventId} ${reason}` : `event ${eventId}: ${reason}`;

/** The same words as the evidence pack's verdict on such a case (src/evidence/analyse.ts). */
const NO_EVENTS = 'no event of this case is in the chain';

/**
 * One line per problem: the first broken case and event of the whole chain first, then every
 * other case with a break (in chain order), then each case without any event, then each
 * evidence archive whose head no longer matches.
 */
export function verifyProblems(r: VerifyResult): string[] {
  const lines: string[] = [];
  const first = r.chain.firstBroken;
  if (first !== null) lines.push(`${whose(first.caseId)}: ${eventProblem(first.eventId, first.reason)}`);
  const others = [...r.chain.cases.values()]
    .filter(
      (v): v is CaseChainVerdict & { broken: NonNullable<CaseChainVerdict['broken']> } => v.broken !== null,
    )
    .filter((v) => v.broken.eventId !== first?.eventId)
    .sort((a, b) => a.broken.eventId - b.broken.eventId);
  for (const v of others)
    lines.push(`${whose(v.caseId)}: ${eventProblem(v.broken.eventId, v.broken.reason)}`);
  for (const id of r.casesWithoutEvents) lines.push(`${whose(id)}: ${NO_EVENTS}`);
  for (const h of r.heads) {
    const archive = `evidence archive #${h.exportId} (${h.archive}, written ${h.writtenAt})`;
    if (h.state === 'missing') lines.push(`${archive}: its head event ${h.headEventId} no longer exists`);
    if (h.state === 'changed')
      lines.push(
        `${archive}: its head event ${h.headEventId} has hash ${short(h.currentHash)}, the archive recorded ${short(h.headHash)}`,
      );
  }
  return lines;
}

const short = (hash: string | null): string => (hash === null ? 'none' : hash.slice(0, 16));

/**
 * The all-good line. It says what the head check is worth: evidence_exports is the database's
 * own record of the archives, which a forger who rewrites the chain can rewrite too; only the
 * signed archive itself (`--archive`) cannot be.
 */
export function verifySummary(r: VerifyResult): string {
  const heads = r.heads.filter((h) => h.state === 'match').length;
  const archives =
    r.heads.length === 0
      ? 'no evidence archive written yet (psirt evidence)'
      : `${heads} evidence archive heads match the database's own record of them (evidence_exports); --archive FILE checks a signed archive`;
  return `ok: ${r.events} events in ${r.cases} cases verify; ${archives}`;
}

/** The per-case verdicts and head verdicts as JSON (`--json`). */
export function verifyJson(r: VerifyResult): Record<string, unknown> {
  return {
    ok: r.ok,
    events: r.events,
    cases: r.cases,
    head: r.chain.head,
    firstBroken: r.chain.firstBroken,
    casesWithoutEvents: r.casesWithoutEvents,
    verdicts: [...r.chain.cases.values()],
    evidence: r.heads,
    problems: verifyProblems(r),
  };
}

export interface VerifyOptions {
  json?: boolean;
  /** Signed evidence archives to hold the database to (`--archive`, repeatable). */
  archive?: string[];
}

/** The team keys whose signatures an archive may carry, or exit naming what is wrong. */
async function teamKeysOrExit(cfg: Config): Promise<TeamKey[]> {
  let keys: TeamKey[];
  try {
    keys = await loadTeamKeys(cfg.pgp, systemClock);
  } catch (err) {
    exitWith(EXIT_FAILED, `cannot check the archive signatures: ${describeError(err)}`);
  }
  if (keys.length === 0)
    exitWith(EXIT_CONFIG, 'pgp.keys: no team key configured to check archive signatures');
  return keys;
}

interface ArchiveVerdict {
  archive: string;
  ok: boolean;
  problems: string[];
  summary: string | null;
}

/** An archive's verdict: its own problems, or (when it verifies on its own) the database's. */
function judgeArchive(
  db: Parameters<typeof headProblems>[0],
  read: ArchiveRead,
  archive: string,
): ArchiveVerdict {
  const problems = read.ok ? headProblems(db, read.signed) : read.problems;
  return {
    archive,
    ok: problems.length === 0,
    problems: problems.map((p) => `archive ${archive}: ${p}`),
    summary: read.ok && problems.length === 0 ? archiveSummary(read.signed) : null,
  };
}

/**
 * `psirt verify [--archive FILE]... [--json]`: exit 0 when everything verifies, 1 naming the
 * first broken case (and each archive the database no longer matches). The archives are read
 * (unpacked, signature and files checked) before the database is opened; the database is then
 * read in one snapshot.
 */
export async function verify(cfg: Config, opts: VerifyOptions): Promise<void> {
  const archives = opts.archive ?? [];
  const reads: [string, ArchiveRead][] = [];
  if (archives.length > 0) {
    const keys = await teamKeysOrExit(cfg);
    // Signatures were made at the wall clock: check them at the wall clock.
    for (const a of archives) reads.push([a, await readSignedArchive(a, keys, systemClock.now())]);
  }
  withCaseDatabase(cfg, (db) => {
    const { result, verdicts } = db.transaction(() => ({
      result: verifyRecord(db),
      verdicts: reads.map(([a, read]) => judgeArchive(db, read, a)),
    }))();
    const ok = result.ok && verdicts.every((v) => v.ok);
    if (opts.json)
      process.stdout.write(`${JSON.stringify({ ...verifyJson(result), ok, archives: verdicts }, null, 2)}\n`);
    else if (ok) {
      process.stdout.write(`${verifySummary(result)}\n`);
      for (const v of verdicts) process.stdout.write(`${v.summary ?? ''}\n`);
    } else
      for (const line of [
        ...(result.ok ? [] : verifyProblems(result)),
        ...verdicts.flatMap((v) => v.problems),
      ])
        process.stderr.write(`psirt: ${line}\n`);
    if (!ok) process.exitCode = EXIT_FAILED;
  });
}
