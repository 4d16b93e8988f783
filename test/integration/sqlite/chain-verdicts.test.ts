import { describe, expect, it } from 'vitest';
import type { Db } from '../../../src/7-cases/db.js';
import { verifyCaseChains } from '../../../src/7-cases/events.js';
import { verifyProblems, verifyRecord } from '../../../src/cli/verify.js';
import {
  alterEventAndRehash,
  alterEventData,
  caseEvents,
  deleteEvent,
  nextEvent,
  seedThreeCases,
} from '../../support/chain-cases.js';
import { migratedDb } from '../../support/db.js';
import { ingestHarness } from '../../support/ingest.js';

const { clock, ingest } = ingestHarness();

/** Three cases; the last event of the second is followed by an event of the third. */
function seeded(): { db: Db; ids: string[]; lastOfSecond: number } {
  const db = migratedDb(clock);
  const ids = seedThreeCases(db, ingest);
  const lastOfSecond = caseEvents(db, ids[1]!).at(-1)!.id;
  expect(nextEvent(db, lastOfSecond)?.case_id).toBe(ids[2]);
  return { db, ids, lastOfSecond };
}

const brokenCases = (db: Db) =>
  [...verifyCaseChains(db).cases.values()].filter((v) => v.broken !== null).map((v) => v.caseId);

/** An evidence archive as `psirt evidence` records it: the chain head it covered. */
function recordArchive(db: Db, head: { eventId: number; hash: string }): void {
  db.prepare(
    `INSERT INTO evidence_exports (written_at, period_from, period_to, head_event_id, head_hash,
       manifest_sha256, archive) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    clock.now().toISOString(),
    '2026-01-01',
    '2026-12-31',
    head.eventId,
    head.hash,
    'a'.repeat(64),
    '/tmp/e.tar',
  );
}

describe('verifyCaseChains()', () => {
  it('finds nothing wrong in an untouched chain of several cases', () => {
    const { db, ids } = seeded();
    const report = verifyCaseChains(db);
    expect(report.firstBroken).toBeNull();
    expect([...report.cases.keys()]).toEqual(ids);
    expect(report.events).toBe((db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n);
  });

  describe('when the data of one event is changed', () => {
    it('names that event and its case, and no other case', () => {
      const { db, ids } = seeded();
      const target = caseEvents(db, ids[1]!)[1]!.id;
      alterEventData(db, target, '{"severity":"low"}');
      expect(verifyCaseChains(db).firstBroken).toEqual({
        eventId: target,
        caseId: ids[1],
        reason: 'content does not match its hash',
      });
      expect(brokenCases(db)).toEqual([ids[1]]);
    });
  });

  describe('when the data is changed and its hash recomputed', () => {
    it("blames the changed event's case, not the case of the next event whose link broke", () => {
      const { db, ids, lastOfSecond } = seeded();
      alterEventAndRehash(db, lastOfSecond, '{"severity":"low"}');
      expect(verifyCaseChains(db).firstBroken).toMatchObject({ eventId: lastOfSecond, caseId: ids[1] });
      expect(brokenCases(db)).toEqual([ids[1]]);
    });
  });

  describe('when a middle event is deleted', () => {
    it('names the event after the gap and its case', () => {
      const { db, ids, lastOfSecond } = seeded();
      const after = nextEvent(db, lastOfSecond)!;
      deleteEvent(db, lastOfSecond);
      expect(verifyCaseChains(db).firstBroken).toEqual({
        eventId: after.id,
        caseId: ids[2],
        reason: `events ${lastOfSecond}…${lastOfSecond} before it were removed`,
      });
      expect(brokenCases(db)).toEqual([ids[2]]);
    });
  });
});

describe('verifyRecord() and the evidence archive heads', () => {
  it('accepts an archive whose head is unchanged', () => {
    const { db } = seeded();
    recordArchive(db, verifyCaseChains(db).head!);
    const r = verifyRecord(db);
    expect(r.ok).toBe(true);
    expect(r.heads.map((h) => h.state)).toEqual(['match']);
    expect(verifyProblems(r)).toEqual([]);
  });

  it('refuses a chain rewritten after the archive, even though the chain itself verifies', () => {
    const { db } = seeded();
    const head = verifyCaseChains(db).head!;
    recordArchive(db, head);
    // The intruder recomputes the last event's hash: no later row links to it, the chain verifies.
    alterEventAndRehash(db, head.eventId, '{"rewritten":true}');
    expect(verifyCaseChains(db).firstBroken).toBeNull();
    const r = verifyRecord(db);
    expect(r.ok).toBe(false);
    expect(r.heads.map((h) => h.state)).toEqual(['changed']);
    expect(verifyProblems(r)).toEqual([
      expect.stringMatching(new RegExp(`head event ${head.eventId} has hash`)),
    ]);
  });

  it('refuses an archive whose head event was removed', () => {
    const { db } = seeded();
    const head = verifyCaseChains(db).head!;
    recordArchive(db, head);
    deleteEvent(db, head.eventId);
    const r = verifyRecord(db);
    expect(r.heads.map((h) => h.state)).toEqual(['missing']);
    expect(verifyProblems(r)).toEqual([
      expect.stringContaining(`head event ${head.eventId} no longer exists`),
    ]);
  });

  it('lists the first broken case first, then every other broken case', () => {
    const { db, ids, lastOfSecond } = seeded();
    // The first case's last event comes after the second's: chain order, not case order.
    const lastOfFirst = caseEvents(db, ids[0]!).at(-1)!.id;
    expect(lastOfFirst).toBeGreaterThan(lastOfSecond);
    alterEventData(db, lastOfFirst, '{"tampered":1}');
    alterEventData(db, lastOfSecond, '{"tampered":2}');
    const lines = verifyProblems(verifyRecord(db));
    expect(lines).toEqual([
      `case ${ids[1]}: event ${lastOfSecond} content does not match its hash`,
      `case ${ids[0]}: event ${lastOfFirst} content does not match its hash`,
    ]);
  });
});
