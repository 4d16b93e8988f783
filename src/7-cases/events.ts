import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Db } from './db.js';

export const GENESIS_HASH = '0'.repeat(64);

/** What a caller records; the store adds `at`, `prev_hash` and `hash`. */
export interface NewEvent {
  caseId: string | null;
  type: string;
  actor: string;
  auth?: string | null;
  messageId?: string | null;
  data?: Record<string, unknown>;
}

export interface EventRow {
  id: number;
  case_id: string | null;
  at: string;
  type: string;
  actor: string;
  auth: string | null;
  message_id: string | null;
  data: string;
  prev_hash: string;
  hash: string;
}

/** sha256 over the previous hash and a canonical, field-ordered JSON of the row's content. */
export function hashEvent(prevHash: string, e: Omit<EventRow, 'id' | 'hash' | 'prev_hash'>): string {
  const canonical = JSON.stringify([e.case_id, e.at, e.type, e.actor, e.auth, e.message_id, e.data]);
  return createHash('sha256').update(prevHash).update('\n').update(canonical).digest('hex');
}

/**
 * Appends one event to the chain. Must run inside the caller's IMMEDIATE transaction (so the
 * previous hash cannot change underneath); returns the new row id.
 */
export function appendEvent(db: Db, clock: Clock, e: NewEvent): number {
  if (!db.inTransaction) throw new Error('appendEvent must run inside a write transaction');
  const last = db.prepare('SELECT hash FROM events ORDER BY id DESC LIMIT 1').get() as
    { hash: string } | undefined;
  const prev = last?.hash ?? GENESIS_HASH;
  const row = {
    case_id: e.caseId,
    at: clock.now().toISOString(),
    type: e.type,
    actor: e.actor,
    auth: e.auth ?? null,
    message_id: e.messageId ?? null,
    data: JSON.stringify(e.data ?? {}),
  };
  const hash = hashEvent(prev, row);
  const info = db
    .prepare(
      `INSERT INTO events (case_id, at, type, actor, auth, message_id, data, prev_hash, hash)
       VALUES (@case_id, @at, @type, @actor, @auth, @message_id, @data, @prev_hash, @hash)`,
    )
    .run({ ...row, prev_hash: prev, hash });
  return Number(info.lastInsertRowid);
}

export type ChainVerdict =
  { ok: true; events: number } | { ok: false; events: number; brokenAt: number; reason: string };

/** Walks the whole chain in id order and reports the first row whose link or hash is wrong. */
export function verifyEventChain(db: Db): ChainVerdict {
  let prev = GENESIS_HASH;
  let count = 0;
  for (const row of db.prepare('SELECT * FROM events ORDER BY id').iterate() as IterableIterator<EventRow>) {
    count += 1;
    if (row.prev_hash !== prev)
      return {
        ok: false,
        events: count,
        brokenAt: row.id,
        reason: 'prev_hash does not match the previous row',
      };
    if (hashEvent(prev, row) !== row.hash)
      return { ok: false, events: count, brokenAt: row.id, reason: 'content does not match its hash' };
    prev = row.hash;
  }
  return { ok: true, events: count };
}

/** One case's part of the chain: its events, the hash of its last one, and the first break in it. */
export interface CaseChainVerdict {
  caseId: string | null;
  events: number;
  firstEventId: number;
  headEventId: number;
  headHash: string;
  /** The first event of this case whose content or link is wrong; null when all verify. */
  broken: { eventId: number; reason: string } | null;
}

export interface ChainReport {
  events: number;
  /** The chain's last event (null on an empty chain). */
  head: { eventId: number; hash: string } | null;
  /** The first broken event of the whole chain, with the case it belongs to. */
  firstBroken: { eventId: number; caseId: string | null; reason: string } | null;
  /** Per case (key: case id, or '' for events of no case), in order of first event. */
  cases: Map<string, CaseChainVerdict>;
}

/**
 * Walks the whole chain in id order and checks every row on its own: its content against its
 * hash, and its link against the row before it. A changed row is blamed on its own case. A link
 * that no longer matches is blamed on the row before it when the ids are consecutive (that row
 * was changed and its hash recomputed) and on the row after a gap otherwise (rows were removed).
 * Every break is found, not only the first, so each case gets its own verdict (`psirt verify`,
 * the evidence pack). Run it on a read-only handle or in a read transaction (one snapshot).
 */
export function verifyCaseChains(db: Db): ChainReport {
  const cases = new Map<string, CaseChainVerdict>();
  let prev: EventRow | null = null;
  let count = 0;
  let firstBroken: ChainReport['firstBroken'] = null;
  const blame = (row: EventRow, reason: string): void => {
    const verdict = cases.get(row.case_id ?? '');
    if (verdict !== undefined) verdict.broken ??= { eventId: row.id, reason };
    if (firstBroken === null || row.id < firstBroken.eventId)
      firstBroken = { eventId: row.id, caseId: row.case_id, reason };
  };
  for (const row of db.prepare('SELECT * FROM events ORDER BY id').iterate() as IterableIterator<EventRow>) {
    count += 1;
    const key = row.case_id ?? '';
    let verdict = cases.get(key);
    if (verdict === undefined) {
      verdict = {
        caseId: row.case_id,
        events: 0,
        firstEventId: row.id,
        headEventId: row.id,
        headHash: row.hash,
        broken: null,
      };
      cases.set(key, verdict);
    }
    verdict.events += 1;
    verdict.headEventId = row.id;
    verdict.headHash = row.hash;
    if (hashEvent(row.prev_hash, row) !== row.hash) blame(row, 'content does not match its hash');
    const expected = prev?.hash ?? GENESIS_HASH;
    if (row.prev_hash !== expected) {
      if (prev !== null && row.id === prev.id + 1)
        blame(prev, `its hash was changed: event ${row.id} no longer links to it`);
      else
        blame(
          row,
          prev === null
            ? 'the events before it were removed'
            : `events ${prev.id + 1}…${row.id - 1} before it were removed`,
        );
    }
    prev = row;
  }
  const last: EventRow | null = prev;
  return {
    events: count,
    head: last === null ? null : { eventId: last.id, hash: last.hash },
    firstBroken,
    cases,
  };
}

/**
 * Cases that have no event at all in the chain. Every case is opened by an event, so a case
 * without one lost its events (removed rows): a break of the chain that walking the events alone
 * cannot see (`psirt verify`; the evidence pack reports the same case as broken).
 */
export function casesWithoutEvents(db: Db): string[] {
  return (
    db
      .prepare(
        `SELECT c.id FROM cases c
         WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.case_id = c.id)
         ORDER BY c.id`,
      )
      .all() as { id: string }[]
  ).map((r) => r.id);
}
