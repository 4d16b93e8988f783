import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inFlightMarker, parseInFlight } from '../../../src/core/inflight.js';

// Issue #16: which mail of an intake batch a crash interrupted (src/core/inflight.ts).
describe('parseInFlight()', () => {
  it('reads back what mark() writes', () => {
    const state = {
      rows: [
        { id: 3, uid: 10 },
        { id: 4, uid: 11 },
      ],
      at: 4,
    };
    expect(parseInFlight(JSON.stringify(state))).toEqual(state);
  });

  it('takes a write cut short, or anything else, as no marker: nothing is given back', () => {
    for (const text of [
      '',
      '{"rows":[{"id":3,',
      'null',
      '[]',
      '{"rows":[],"at":"4"}',
      '{"rows":[{"id":1}],"at":1}',
    ])
      expect(parseInFlight(text)).toBeNull();
  });
});

describe('inFlightMarker()', () => {
  it('keeps the mark beside the database until cleared', () => {
    const db = join(mkdtempSync(join(tmpdir(), 'psirt-inflight-')), 'psirt.db');
    const marker = inFlightMarker(db);
    expect(marker.read()).toBeNull();
    marker.mark({ rows: [{ id: 1, uid: 1 }], at: 1 });
    expect(inFlightMarker(db).read()).toEqual({ rows: [{ id: 1, uid: 1 }], at: 1 });
    marker.clear();
    expect(marker.read()).toBeNull();
    marker.clear();
  });

  it('rewrites the mark in place: a shorter mark after a longer one reads back whole (#16)', () => {
    const db = join(mkdtempSync(join(tmpdir(), 'psirt-inflight-')), 'psirt.db');
    const marker = inFlightMarker(db);
    const rows = Array.from({ length: 50 }, (_, i) => ({ id: 1000 + i, uid: 2000 + i }));
    marker.mark({ rows, at: 1049 });
    marker.mark({ rows: [{ id: 7, uid: 8 }], at: 7 });
    expect(inFlightMarker(db).read()).toEqual({ rows: [{ id: 7, uid: 8 }], at: 7 });
    marker.clear();
    expect(marker.read()).toBeNull();
    marker.mark({ rows: [{ id: 9, uid: 9 }], at: 9 });
    expect(inFlightMarker(db).read()).toEqual({ rows: [{ id: 9, uid: 9 }], at: 9 });
    marker.clear();
  });

  it('keeps nothing for an in-memory database', () => {
    const marker = inFlightMarker(':memory:');
    marker.mark({ rows: [{ id: 1, uid: 1 }], at: 1 });
    expect(marker.read()).toBeNull();
  });
});
