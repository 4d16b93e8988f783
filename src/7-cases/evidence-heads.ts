import type { Db } from './db.js';

/**
 * One evidence archive written (`evidence_exports`), with the chain head it covered and what that
 * event's hash is now: the archive was handed over, so the events up to its head must never
 * change. A head event that is gone, or whose hash differs, means the chain was rewritten after
 * the archive (even when every link was recomputed and the chain itself verifies).
 */
export interface EvidenceHead {
  exportId: number;
  writtenAt: string;
  archive: string;
  /** The chain's last event when the archive was written; null for an archive of no events. */
  headEventId: number | null;
  headHash: string | null;
  /** The stored hash of `headEventId` now; null when that row no longer exists. */
  currentHash: string | null;
}

/** Every evidence archive's head, oldest archive first. */
export function evidenceHeads(db: Db): EvidenceHead[] {
  return db
    .prepare(
      `SELECT x.id AS exportId, x.written_at AS writtenAt, x.archive, x.head_event_id AS headEventId,
              x.head_hash AS headHash, e.hash AS currentHash
       FROM evidence_exports x LEFT JOIN events e ON e.id = x.head_event_id
       ORDER BY x.id`,
    )
    .all() as EvidenceHead[];
}

/**
 * The stored hash of each of `ids` that still exists (`psirt verify --archive`: the heads a
 * signed archive recorded, looked up now). A missing id is absent from the map.
 */
export function eventHashes(db: Db, ids: readonly number[]): Map<number, string> {
  const get = db.prepare('SELECT hash FROM events WHERE id = ?');
  const out = new Map<number, string>();
  for (const id of new Set(ids)) {
    const row = get.get(id) as { hash: string } | undefined;
    if (row !== undefined) out.set(id, row.hash);
  }
  return out;
}
