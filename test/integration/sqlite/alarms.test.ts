import { describe, expect, it } from 'vitest';
import {
  clearAlarm,
  lastProgress,
  markProgress,
  openAlarm,
  openAlarms,
  raiseAlarm,
} from '../../../src/7-cases/alarm-store.js';
import { fixedClock } from '../../../src/core/clock.js';
import { migratedDb } from '../../support/db.js';

const t0 = fixedClock('2026-12-01T12:00:00Z');
const t1 = fixedClock('2026-12-01T12:05:00Z');

describe('alarms (#15)', () => {
  it('opens an alarm once: raising it again while open changes nothing', () => {
    const db = migratedDb(t0);
    expect(raiseAlarm(db, t0, 'relay-down', '127.0.0.1:25 refused')).toMatchObject({
      name: 'relay-down',
      raised_at: '2026-12-01T12:00:00.000Z',
      cleared_at: null,
    });
    expect(raiseAlarm(db, t1, 'relay-down', 'again')).toBeNull();
    expect(openAlarms(db).map((a) => [a.name, a.detail])).toEqual([['relay-down', '127.0.0.1:25 refused']]);
  });

  it('clears once, and a later outage opens a new row', () => {
    const db = migratedDb(t0);
    raiseAlarm(db, t0, 'mail-roundtrip', '');
    expect(clearAlarm(db, t1, 'mail-roundtrip')?.cleared_at).toBe('2026-12-01T12:05:00.000Z');
    expect(clearAlarm(db, t1, 'mail-roundtrip')).toBeNull();
    expect(openAlarm(db, 'mail-roundtrip')).toBeNull();
    expect(raiseAlarm(db, t1, 'mail-roundtrip', '')).not.toBeNull();
    const rows = db.prepare("SELECT count(*) AS n FROM alarms WHERE name = 'mail-roundtrip'").get() as {
      n: number;
    };
    expect(rows.n).toBe(2);
  });

  it('refuses a name that is not a lower-case slug (no free text in the name)', () => {
    const db = migratedDb(t0);
    expect(() => raiseAlarm(db, t0, 'Relay down for alice@example.org', '')).toThrow(/CHECK/);
  });

  it('keeps the last progress mark per name', () => {
    const db = migratedDb(t0);
    expect(lastProgress(db, 'intake.synced')).toBeNull();
    markProgress(db, t0, 'intake.synced');
    markProgress(db, t1, 'intake.synced');
    expect(lastProgress(db, 'intake.synced')?.toISOString()).toBe('2026-12-01T12:05:00.000Z');
  });
});
