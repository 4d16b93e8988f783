import type { Db } from '../../src/7-cases/db.js';
import { hashEvent, type EventRow } from '../../src/7-cases/events.js';
import { buildDecoded } from './builders.js';
import type { ingestHarness } from './ingest.js';

/**
 * Three cases made by the real classify + apply path, their events interleaved: each report
 * opens a case (SEC-2026-0001 … 0003), then a follow-up on the first adds events after the
 * others, so a case's last event is followed by another case's event.
 */
export function seedThreeCases(db: Db, ingest: ReturnType<typeof ingestHarness>['ingest']): string[] {
  const ids: string[] = [];
  for (const n of [1, 2, 3]) {
    const { result } = ingest(
      db,
      buildDecoded({ messageId: `chain-r${n}@x`, from: { address: `reporter${n}@psirt.test`, name: null } }),
    );
    if (result.caseId === null) throw new Error(`report ${n} made no case`);
    ids.push(result.caseId);
  }
  ingest(db, buildDecoded({ messageId: 'chain-f1@x', inReplyTo: 'chain-r1@x', references: ['chain-r1@x'] }));
  return ids;
}

/** The events of one case, in chain order. */
export function caseEvents(db: Db, caseId: string): EventRow[] {
  return db.prepare('SELECT * FROM events WHERE case_id = ? ORDER BY id').all(caseId) as EventRow[];
}

/** The event after `id` in the chain. */
export function nextEvent(db: Db, id: number): EventRow | undefined {
  return db.prepare('SELECT * FROM events WHERE id > ? ORDER BY id LIMIT 1').get(id) as EventRow | undefined;
}

/** What an intruder with the file does: drop the append-only triggers first. */
function dropTriggers(db: Db): void {
  db.exec('DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;');
}

/** Changes an event's data and leaves its hash as it was. */
export function alterEventData(db: Db, id: number, data: string): void {
  dropTriggers(db);
  db.prepare('UPDATE events SET data = ? WHERE id = ?').run(data, id);
}

/** Changes an event's data and recomputes its own hash (the next row's link then breaks). */
export function alterEventAndRehash(db: Db, id: number, data: string): void {
  dropTriggers(db);
  const row = db.prepare('SELECT * FROM events WHERE id = ?').get(id) as EventRow;
  const hash = hashEvent(row.prev_hash, { ...row, data });
  db.prepare('UPDATE events SET data = ?, hash = ? WHERE id = ?').run(data, hash, id);
}

/** Removes one event. */
export function deleteEvent(db: Db, id: number): void {
  dropTriggers(db);
  db.prepare('DELETE FROM events WHERE id = ?').run(id);
}

/**
 * The forger with write access: changes one event's data and recomputes the hash of it and of
 * every later event, so every link holds again; then rewrites the database's own record of the
 * archive heads (evidence_exports) to the new hashes. The database alone then looks untouched.
 */
export function rewriteChainFrom(db: Db, id: number, data: string): void {
  dropTriggers(db);
  const rows = db.prepare('SELECT * FROM events WHERE id >= ? ORDER BY id').all(id) as EventRow[];
  const update = db.prepare('UPDATE events SET data = ?, prev_hash = ?, hash = ? WHERE id = ?');
  let prev = rows[0]?.prev_hash ?? '';
  for (const row of rows) {
    const next = { ...row, data: row.id === id ? data : row.data };
    const hash = hashEvent(prev, next);
    update.run(next.data, prev, hash, row.id);
    prev = hash;
  }
  db.exec('UPDATE evidence_exports SET head_hash = (SELECT hash FROM events WHERE id = head_event_id)');
}

/** Removes every event from `id` on (the newest cases lose all their events). */
export function deleteEventsFrom(db: Db, id: number): void {
  dropTriggers(db);
  db.prepare('DELETE FROM events WHERE id >= ?').run(id);
}
