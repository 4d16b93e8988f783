import { describe, expect, it } from 'vitest';
import { createCalendar } from '../../../src/calendar/calendar.js';
import type { EvidenceDeadline } from '../../../src/7-cases/evidence-store.js';
import { describeStage, judgeStage } from '../../../src/evidence/analyse.js';

/** Berlin, Mon–Fri, German public holidays (1 May 2026 is a Friday). */
const berlin = createCalendar({
  time_zone: 'Europe/Berlin',
  working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  holiday_country: 'DE',
  closed_days: [],
  partial_day_holidays_closed: false,
});

const deadline = (over: Partial<EvidenceDeadline>): EvidenceDeadline => ({
  case_id: 'SEC-2026-0001',
  kind: 'verify',
  due_at: '2026-11-13T11:00:00.000Z',
  met_at: null,
  state: 'open',
  policy: 'p',
  calendar: berlin.id,
  ...over,
});
const openCase = {
  created_at: '2026-11-06T11:00:00.000Z',
  reopened_at: null,
  fixed_at: null,
  closed_at: null,
};
const NOW = new Date('2026-11-18T11:00:00.000Z'); // Wed 12:00 in Berlin

describe('judgeStage', () => {
  it('a stage done after a weekend is missed by the business days between, not the calendar days', () => {
    // Due Fri 13 Nov 12:00, done Mon 16 Nov 12:00: half of Friday and half of Monday.
    const r = judgeStage(
      'verify',
      deadline({ met_at: '2026-11-16T11:00:00.000Z', state: 'met' }),
      openCase,
      berlin,
      NOW,
    );
    expect(r).toMatchObject({
      verdict: 'missed',
      businessDays: 1,
      stillOpen: false,
      doneAt: '2026-11-16T11:00:00.000Z',
    });
    expect(describeStage(r)).toBe('missed, 1 business day late');
  });

  it('a public holiday does not count: due Thu 30 Apr, done Tue 5 May is 2 business days late', () => {
    const r = judgeStage(
      'verify',
      deadline({ due_at: '2026-04-30T10:00:00.000Z', met_at: '2026-05-05T10:00:00.000Z', state: 'met' }),
      { ...openCase, created_at: '2026-04-21T10:00:00.000Z' },
      berlin,
      NOW,
    );
    expect(r).toMatchObject({ verdict: 'missed', businessDays: 2 });
  });

  it('a stage done early is met, with its margin and the time it took', () => {
    const r = judgeStage(
      'verify',
      deadline({ met_at: '2026-11-11T11:00:00.000Z', state: 'met' }),
      openCase,
      berlin,
      NOW,
    );
    // Received Fri 6 Nov 12:00, done Wed 11 Nov 12:00: 3 business days; due two days later.
    expect(r).toMatchObject({ verdict: 'met', businessDays: 2, takenBusinessDays: 3 });
    expect(describeStage(r)).toBe('met, 2 business days early');
  });

  it('an open deadline past due at the export is missed, still open, late by the business days until then', () => {
    const r = judgeStage('verify', deadline({}), openCase, berlin, NOW);
    expect(r).toMatchObject({ verdict: 'missed', stillOpen: true, businessDays: 3, doneAt: null });
    expect(describeStage(r)).toBe('missed, still open, 3 business days late');
  });

  it('an open deadline not yet due is open with the time left', () => {
    const r = judgeStage('verify', deadline({ due_at: '2026-11-20T11:00:00.000Z' }), openCase, berlin, NOW);
    expect(r).toMatchObject({ verdict: 'open', businessDays: 2 });
  });

  it('a case closed before a deadline was due did not need it; closed after, it missed it', () => {
    const cancelled = deadline({ state: 'cancelled' });
    expect(
      judgeStage('verify', cancelled, { ...openCase, closed_at: '2026-11-12T11:00:00.000Z' }, berlin, NOW),
    ).toMatchObject({
      verdict: 'cancelled',
    });
    const late = judgeStage(
      'verify',
      cancelled,
      { ...openCase, closed_at: '2026-11-17T11:00:00.000Z' },
      berlin,
      NOW,
    );
    expect(late).toMatchObject({ verdict: 'missed', businessDays: 2, stillOpen: false });
    expect(describeStage(late)).toBe('missed, closed without it, 2 business days late');
  });

  it('a paused deadline is neither met nor missed; a stage without a deadline says so', () => {
    expect(judgeStage('verify', deadline({ state: 'paused' }), openCase, berlin, NOW).verdict).toBe('paused');
    expect(judgeStage('fix', undefined, openCase, berlin, NOW)).toMatchObject({
      verdict: 'none',
      dueAt: null,
    });
  });

  it('disclose counts the time taken from the fix, not from the report', () => {
    const r = judgeStage(
      'disclose',
      deadline({
        kind: 'disclose',
        due_at: '2026-11-20T11:00:00.000Z',
        met_at: '2026-11-17T11:00:00.000Z',
        state: 'met',
      }),
      { ...openCase, fixed_at: '2026-11-16T11:00:00.000Z' },
      berlin,
      NOW,
    );
    expect(r.takenBusinessDays).toBe(1);
  });
});
