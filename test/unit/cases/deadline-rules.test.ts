import { describe, expect, it } from 'vitest';
import { openedState, toState } from '../../../src/7-cases/rules/case-row.js';
import { pausesFrom, planDeadlineSync } from '../../../src/7-cases/rules/deadlines.js';
import { threadOf } from '../../../src/7-cases/rules/thread.js';
import { AT, calendar, caseRow, config } from './rules-support.js';

const plus = (s: number): string => new Date(Date.parse(AT) + s * 1000).toISOString();

describe('pausesFrom', () => {
  it('turns waiting and hold events into intervals, merged where they overlap, open while one stands', () => {
    const pauses = pausesFrom([
      { at: plus(0), type: 'case.waiting-on-reporter', data: { waiting: true } },
      { at: plus(10), type: 'case.hold', data: { onHold: true } },
      { at: plus(20), type: 'case.waiting-on-reporter', data: { waiting: false } },
      { at: plus(30), type: 'case.hold', data: { onHold: false } },
      { at: plus(100), type: 'case.hold', data: { onHold: true } },
    ]);
    expect(pauses).toEqual([
      { from: new Date(plus(0)), to: new Date(plus(30)) },
      { from: new Date(plus(100)), to: null },
    ]);
  });
});

describe('planDeadlineSync', () => {
  it("derives a new case's triage and verify deadlines and plans every ladder step of its open deadlines", () => {
    const s = planDeadlineSync(
      {
        state: openedState('SEC-2026-0001', 'reporter1@psirt.test'),
        createdAt: AT,
        deadlines: [{ kind: 'acknowledge', due_at: plus(600), state: 'open' }],
        pauses: [],
      },
      config,
      calendar,
      AT,
    );
    expect(s.upserts).toEqual([
      { kind: 'triage', dueAt: plus(600), state: 'open', metAt: null },
      { kind: 'verify', dueAt: plus(900), state: 'open', metAt: null },
    ]);
    expect(s.cancel).toEqual(['fix', 'disclose']);
    // Ordered by kind, as the store's (case_id, kind) index returns them.
    expect(s.after.map((d) => d.kind)).toEqual(['acknowledge', 'triage', 'verify']);
    expect(s.escalations.map((e) => [e.deadline, e.step, e.state])).toEqual([
      ['acknowledge', 0, 'pending'],
      ['acknowledge', 1, 'pending'],
      ['acknowledge', 2, 'pending'],
      ['triage', 0, 'pending'],
      ['triage', 1, 'pending'],
      ['triage', 2, 'pending'],
      ['verify', 0, 'pending'],
      ['verify', 1, 'pending'],
      ['verify', 2, 'pending'],
    ]);
    expect(s.escalations[0]?.fireAt).toBe(plus(594));
    expect(s.outsideExpertise).toBeNull();
    expect(s.cycle).toBe('');
  });

  it('stops the steps of a held acknowledgment and of a case on hold', () => {
    const held = planDeadlineSync(
      {
        state: openedState('SEC-2026-0001', 'r@x.test'),
        createdAt: AT,
        deadlines: [{ kind: 'acknowledge', due_at: plus(600), state: 'cancelled' }],
        pauses: [],
      },
      config,
      calendar,
      AT,
    );
    expect(held.escalations.filter((e) => e.deadline === 'acknowledge').map((e) => e.state)).toEqual([
      'stopped',
      'stopped',
      'stopped',
    ]);
    const onHold = planDeadlineSync(
      {
        state: { ...toState(caseRow()), onHold: true },
        createdAt: caseRow().created_at,
        deadlines: [],
        pauses: [{ at: AT, type: 'case.hold', data: { onHold: true } }],
      },
      config,
      calendar,
      AT,
    );
    expect(onHold.upserts.map((u) => u.state)).toEqual(['paused', 'paused']);
    expect(onHold.escalations.every((e) => e.state === 'stopped')).toBe(true);
  });

  it('cancels every open deadline of a closed case, its acknowledge deadline too, and calls no outside help', () => {
    const s = planDeadlineSync(
      {
        state: {
          ...toState(caseRow({ tags: '["zero-day"]' })),
          stage: 'closed',
          resolution: 'invalid',
          closedAt: AT,
        },
        createdAt: caseRow().created_at,
        deadlines: [
          { kind: 'acknowledge', due_at: plus(-10), state: 'open' },
          { kind: 'triage', due_at: plus(100), state: 'open' },
        ],
        pauses: [],
      },
      config,
      calendar,
      AT,
    );
    expect(s.cancel).toContain('acknowledge');
    expect(s.after.map((d) => [d.kind, d.state])).toEqual([
      ['acknowledge', 'cancelled'],
      ['triage', 'cancelled'],
      ['verify', 'cancelled'],
    ]);
    expect(s.outsideExpertise).toBeNull();
  });

  it('calls outside expertise for a tagged open case, once per reopen cycle', () => {
    const state = { ...toState(caseRow({ tags: '["firmware"]' })), reopenedAt: plus(-5) };
    const s = planDeadlineSync(
      { state, createdAt: caseRow().created_at, deadlines: [], pauses: [] },
      config,
      calendar,
      AT,
    );
    expect(s.outsideExpertise).toEqual({ tags: ['firmware'], fixDays: null });
    expect(s.cycle).toBe(plus(-5));
  });
});

describe('threadOf', () => {
  it('answers the last Message-ID and keeps the first and the latest 19 of a long thread', () => {
    expect(threadOf(['a', 'b', 'a'])).toEqual({ inReplyTo: 'b', references: ['a', 'b'] });
    const ids = Array.from({ length: 25 }, (_, i) => `m${i}`);
    const t = threadOf(ids);
    expect(t.inReplyTo).toBe('m24');
    expect(t.references).toEqual(['m0', ...ids.slice(6)]);
    expect(threadOf([])).toEqual({ inReplyTo: null, references: [] });
  });
});
