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
