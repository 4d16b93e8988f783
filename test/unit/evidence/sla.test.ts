import { describe, expect, it } from 'vitest';
import type { CaseEvidence, StageResult } from '../../../src/evidence/analyse.js';
import { median, monthIn, percentile, summariseSla } from '../../../src/evidence/sla.js';

function stage(over: Partial<StageResult>): StageResult {
  return {
    stage: 'verify',
    verdict: 'met',
    dueAt: '2026-11-13T11:00:00.000Z',
    doneAt: null,
    businessDays: 0,
    stillOpen: false,
    takenBusinessDays: null,
    policy: null,
    calendar: null,
    ...over,
  };
}

/** A case of the given severity with the given stage results (the rest does not matter here). */
function kase(severity: string | null, stages: StageResult[]): CaseEvidence {
  return { id: 'SEC', severity, stages, earlierCycles: [], cycleLabel: null } as unknown as CaseEvidence;
}

describe('median and percentile', () => {
  it('median is the middle value, the mean of the two middle ones for an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });

  it('p90 is the nearest-rank value: an observed time', () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(percentile([4, 1, 3, 2], 90)).toBe(4);
    expect(percentile([7], 90)).toBe(7);
    expect(percentile([], 90)).toBeNull();
  });
});

describe('summariseSla of imported history (issue #15 trial)', () => {
  it('does not count historical stages as decided, met or missed', () => {
    const sla = summariseSla(
      [
        kase(null, [stage({ verdict: 'historical', dueAt: '2024-02-02T09:00:00.000Z', businessDays: null })]),
        kase(null, [stage({ verdict: 'met', takenBusinessDays: 1 })]),
      ],
      'Europe/Berlin',
    );
    expect(sla.rows.find((r) => r.stage === 'verify' && r.severity === 'all')).toMatchObject({
      count: 1,
      met: 1,
      missed: 0,
    });
    expect(sla.months).toEqual([{ month: '2026-11', stage: 'verify', met: 1, missed: 0 }]);
  });
});

describe('summariseSla', () => {
  const cases = [
    kase('high', [stage({ verdict: 'met', takenBusinessDays: 1 })]),
    kase('high', [stage({ verdict: 'missed', takenBusinessDays: 9, dueAt: '2026-10-31T23:30:00.000Z' })]),
    kase('high', [stage({ verdict: 'met', takenBusinessDays: 3 })]),
    kase(null, [stage({ verdict: 'missed', stillOpen: true, takenBusinessDays: null })]),
    kase('low', [stage({ verdict: 'open' }), stage({ stage: 'fix', verdict: 'paused' })]),
  ];
  const sla = summariseSla(cases, 'Europe/Berlin');

  it('counts decided deadlines per stage and severity, with met %, median and p90 of the time taken', () => {
    const verify = sla.rows.filter((r) => r.stage === 'verify');
    expect(verify).toEqual([
      {
        stage: 'verify',
        severity: 'all',
        count: 4,
        met: 2,
        missed: 2,
        metPct: 50,
        medianBusinessDays: 3,
        p90BusinessDays: 9,
      },
      {
        stage: 'verify',
        severity: 'high',
        count: 3,
        met: 2,
        missed: 1,
        metPct: 66.7,
        medianBusinessDays: 3,
        p90BusinessDays: 9,
      },
      {
        stage: 'verify',
        severity: 'unscored',
        count: 1,
        met: 0,
        missed: 1,
        metPct: 0,
        medianBusinessDays: null,
        p90BusinessDays: null,
      },
    ]);
  });

  it('leaves open and paused stages out: a stage with nothing decided has no met %', () => {
    expect(sla.rows.filter((r) => r.stage === 'fix')).toEqual([
      {
        stage: 'fix',
        severity: 'all',
        count: 0,
        met: 0,
        missed: 0,
        metPct: null,
        medianBusinessDays: null,
        p90BusinessDays: null,
      },
    ]);
  });

  it('groups per month of the due time in the calendar zone (31 Oct 23:30 UTC is November in Berlin)', () => {
    expect(monthIn('2026-10-31T23:30:00.000Z', 'Europe/Berlin')).toBe('2026-11');
    expect(monthIn('2026-10-31T23:30:00.000Z', 'UTC')).toBe('2026-10');
    expect(sla.months).toEqual([{ month: '2026-11', stage: 'verify', met: 2, missed: 2 }]);
    const utc = summariseSla(cases, 'UTC');
    expect(utc.months).toEqual([
      { month: '2026-10', stage: 'verify', met: 0, missed: 1 },
      { month: '2026-11', stage: 'verify', met: 2, missed: 1 },
    ]);
  });

  it("counts a reopened case's earlier cycles: a miss before the reopen stays a miss", () => {
    const c = {
      ...kase(null, [stage({ verdict: 'met' })]),
      earlierCycles: [
        { cycle: 1, label: 'cycle 1', startedAt: '', endedAt: '', stages: [stage({ verdict: 'missed' })] },
      ],
      cycleLabel: 'cycle 2',
    } as CaseEvidence;
    const all = summariseSla([c], 'Europe/Berlin').rows.find(
      (r) => r.stage === 'verify' && r.severity === 'all',
    );
    expect(all).toMatchObject({ count: 2, met: 1, missed: 1 });
  });
});
