import type { Db } from '../7-cases/db.js';
import { evidenceHeads, type EvidenceHead } from '../7-cases/evidence-heads.js';
import { verifyCaseChains, type CaseChainVerdict, type ChainReport } from '../7-cases/events.js';
import type { Config } from '../config/schema.js';
import { EXIT_FAILED, withCaseDatabase } from './context.js';

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
    const heads = evidenceHeads(db).map((h) => ({ ...h, state: headState(h) }));
    const cases = [...chain.cases.values()].filter((v) => v.caseId !== null).length;
    const ok = chain.firstBroken === null && heads.every((h) => h.state === 'match' || h.state === 'empty');
    return { ok, events: chain.events, cases, chain, heads };
  })();
}

const whose = (caseId: string | null): string => (caseId === null ? 'events of no case' : `case ${caseId}`);

/** "event 42 content does not match its hash"; the other reasons read after a colon. */
const eventProblem = (eventId: number, reason: string): string =>
  reason.startsWith('content ') ? `event ${eventId} ${reason}` : `event ${eventId}: ${reason}`;

/**
 * One line per problem: the first broken case and event of the whole chain first, then every
 * other case with a break (in chain order), then each evidence archive whose head no longer
 * matches.
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

/** The all-good line. */
export function verifySummary(r: VerifyResult): string {
  const heads = r.heads.filter((h) => h.state === 'match').length;
  return `ok: ${r.events} events in ${r.cases} cases verify; ${heads} evidence archive heads match`;
}

/** The per-case verdicts and head verdicts as JSON (`--json`). */
export function verifyJson(r: VerifyResult): unknown {
  return {
    ok: r.ok,
    events: r.events,
    cases: r.cases,
    head: r.chain.head,
    firstBroken: r.chain.firstBroken,
    verdicts: [...r.chain.cases.values()],
    evidence: r.heads,
    problems: verifyProblems(r),
  };
}

/** `psirt verify [--json]`: exit 0 when everything verifies, 1 naming the first broken case. */
export function verify(cfg: Config, opts: { json?: boolean }): void {
  withCaseDatabase(cfg, (db) => {
    const result = verifyRecord(db);
    if (opts.json) process.stdout.write(`${JSON.stringify(verifyJson(result), null, 2)}\n`);
    else if (result.ok) process.stdout.write(`${verifySummary(result)}\n`);
    else for (const line of verifyProblems(result)) process.stderr.write(`psirt: ${line}\n`);
    if (!result.ok) process.exitCode = EXIT_FAILED;
  });
}
