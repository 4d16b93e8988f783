import { describe, expect, it } from 'vitest';
import { appendEvent, GENESIS_HASH, verifyEventChain } from '../../../src/7-cases/events.js';
import { fixedClock } from '../../../src/core/clock.js';
import { migratedDb } from '../../support/db.js';

const clock = fixedClock('2026-11-24T12:00:00Z');

function seeded() {
  const db = migratedDb(clock);
  db.transaction(() => {
    for (let i = 0; i < 5; i++) {
      appendEvent(db, clock, { caseId: null, type: 'test.event', actor: 'system', data: { i } });
    }
  }).immediate();
  return db;
}

describe('event log', () => {
  it('chains each row to the previous one, starting from the genesis hash', () => {
    const db = seeded();
    const rows = db.prepare('SELECT prev_hash, hash FROM events ORDER BY id').all() as {
      prev_hash: string;
      hash: string;
    }[];
    expect(rows[0]?.prev_hash).toBe(GENESIS_HASH);
    for (let i = 1; i < rows.length; i++) expect(rows[i]?.prev_hash).toBe(rows[i - 1]?.hash);
    expect(verifyEventChain(db)).toEqual({ ok: true, events: 5 });
  });

  it('refuses UPDATE and DELETE (append-only triggers)', () => {
    const db = seeded();
    expect(() => db.prepare("UPDATE events SET actor = 'mallory' WHERE id = 2").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM events WHERE id = 2').run()).toThrow(/append-only/);
  });

  it('shows tampering by someone who dropped the trigger and edited a row', () => {
    const db = seeded();
    db.exec('DROP TRIGGER events_no_update');
    db.prepare(`UPDATE events SET data = '{"i":99}' WHERE id = 3`).run();
    expect(verifyEventChain(db)).toMatchObject({
      ok: false,
      brokenAt: 3,
      reason: 'content does not match its hash',
    });
  });

  it('shows a deleted row in the middle of the chain', () => {
    const db = seeded();
    db.exec('DROP TRIGGER events_no_delete');
    db.prepare('DELETE FROM events WHERE id = 3').run();
    expect(verifyEventChain(db)).toMatchObject({
      ok: false,
      brokenAt: 4,
      reason: 'prev_hash does not match the previous row',
    });
  });

  it('must be written inside a transaction', () => {
    const db = migratedDb(clock);
    expect(() => appendEvent(db, clock, { caseId: null, type: 't', actor: 'system' })).toThrow(
      /inside a write transaction/,
    );
  });
});
