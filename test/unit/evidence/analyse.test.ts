import { describe, expect, it } from 'vitest';
import { createCalendar } from '../../../src/calendar/calendar.js';
import type {
  EvidenceCaseRow,
  EvidenceCycleDeadline,
  EvidenceDeadline,
} from '../../../src/7-cases/evidence-store.js';
import {
  analyseCase,
  analyseCases,
  describeStage,
  everyStage,
  judgeStage,
  stateOf,
} from '../../../src/evidence/analyse.js';

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

  it('a lateness below the 0.01 rounding is not shown as 0 business days (#12 trial)', () => {
    const r = judgeStage('verify', deadline({}), openCase, berlin, NOW);
    expect(describeStage({ ...r, businessDays: 0 })).toBe(
      'missed, still open, under 0.01 business days late',
    );
    expect(describeStage({ ...r, verdict: 'cancelled' })).toBe(
      'cancelled: the case closed before it was due',
    );
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

  it('the time taken leaves out the business time the clock stood still', () => {
    // Received Fri 6 Nov, verified Wed 18 Nov: 8 business days, 3 of them (Mon 9–Thu 12) paused.
    const r = judgeStage(
      'verify',
      deadline({ due_at: '2026-11-20T11:00:00.000Z', met_at: '2026-11-18T11:00:00.000Z', state: 'met' }),
      openCase,
      berlin,
      NOW,
      [{ from: new Date('2026-11-09T11:00:00.000Z'), to: new Date('2026-11-12T11:00:00.000Z') }],
    );
    expect(r.takenBusinessDays).toBe(5);
  });
});

describe('analyseCase of a reopened case (reviewer M2)', () => {
  const reopened: EvidenceCaseRow = {
    id: 'SEC-2026-0001',
    stage: 'triage',
    resolution: null,
    severity: null,
    cvss_vector: null,
    cvss_score: null,
    assignee: null,
    on_hold: false,
    hold_reason: null,
    held_at: null,
    held_by: null,
    waiting_on_reporter: false,
    created_at: '2026-11-02T09:00:00.000Z',
    closed_at: null,
    triaged_at: null,
    verified_at: null,
    fixed_at: null,
    published_at: null,
    reopened_at: '2026-11-24T09:00:00.000Z',
    fix_by: null,
    disclose_on: null,
    external: [],
    duplicate_of: null,
  };
  const cycle1 = (over: Partial<EvidenceCycleDeadline>): EvidenceCycleDeadline => ({
    ...deadline({}),
    cycle_started_at: '2026-11-02T09:00:00.000Z',
    cycle_ended_at: '2026-11-23T09:00:00.000Z',
    ...over,
  });

  it('keeps the first cycle: its missed verify, its acknowledge, labelled with the cycle', () => {
    const c = analyseCase(
      reopened,
      [deadline({ kind: 'triage', due_at: '2026-11-27T09:00:00.000Z' })],
      [],
      [],
      { calendar: berlin, staff: [], now: NOW, chains: new Map() },
      [
        cycle1({
          kind: 'acknowledge',
          due_at: '2026-11-02T10:00:00.000Z',
          met_at: '2026-11-02T09:01:00.000Z',
          state: 'met',
        }),
        cycle1({
          kind: 'verify',
          due_at: '2026-11-11T09:00:00.000Z',
          met_at: '2026-11-20T09:00:00.000Z',
          state: 'met',
        }),
      ],
    );
    expect(c.earlierCycles).toHaveLength(1);
    expect(c.earlierCycles[0]?.label).toBe('cycle 1 (received 2026-11-02)');
    expect(c.earlierCycles[0]?.stages.find((s) => s.stage === 'verify')).toMatchObject({
      verdict: 'missed',
      businessDays: 7,
    });
    expect(c.cycleLabel).toBe('cycle 2 (reopened 2026-11-24)');
    // The reopened case has no acknowledge deadline of its own: the reporter was answered.
    expect(c.stages.find((s) => s.stage === 'acknowledge')?.verdict).toBe('none');
    expect(c.acknowledged).toBe('2026-11-02T09:01:00.000Z');
    const missed = everyStage(c).filter((s) => s.result.verdict === 'missed');
    expect(missed.map((s) => [s.cycle, s.result.stage])).toEqual([
      ['cycle 1 (received 2026-11-02)', 'verify'],
    ]);
  });
});

describe('customers told (issue #14)', () => {
  const base = {
    id: 'SEC-2026-0009',
    stage: 'disclosure',
    resolution: null,
    severity: 'high',
    cvss_vector: null,
    cvss_score: null,
    assignee: null,
    on_hold: false,
    hold_reason: null,
    held_at: null,
    held_by: null,
    waiting_on_reporter: false,
    created_at: '2026-11-02T09:00:00.000Z',
    closed_at: null,
    triaged_at: null,
    verified_at: null,
    fixed_at: null,
    published_at: '2026-11-20T09:00:00.000Z',
    reopened_at: null,
    fix_by: null,
    disclose_on: null,
    external: [],
    duplicate_of: null,
  };
  it('lists per case who was told of which revision, encrypted or not, queued and sent when', () => {
    const notice = {
      case_id: 'SEC-2026-0009',
      customer: 'Customer One',
      address: 'c1@x.test',
      revision: 2,
      encrypted: true,
      queued_at: '2026-11-21T09:00:00.000Z',
      sent_at: '2026-11-21T09:00:05.000Z',
    };
    const [c] = analyseCases(
      {
        cases: [base],
        events: [],
        deadlines: [],
        earlierDeadlines: [],
        expertCalls: [],
        customerNotifications: [notice],
        versions: [],
        starts: [],
      },
      { calendar: berlin, staff: [], now: NOW, chains: new Map() },
    );
    expect(c?.customersNotified).toEqual([
      {
        customer: 'Customer One',
        address: 'c1@x.test',
        revision: 2,
        encrypted: true,
        queuedAt: notice.queued_at,
        sentAt: notice.sent_at,
      },
    ]);
  });
});

describe('an imported case (psirt import, issue #15 trial)', () => {
  const imported: EvidenceCaseRow = {
    id: 'SEC-2024-0001',
    stage: 'new',
    resolution: null,
    severity: null,
    cvss_vector: null,
    cvss_score: null,
    assignee: null,
    on_hold: false,
    hold_reason: null,
    held_at: null,
    held_by: null,
    waiting_on_reporter: false,
    created_at: '2024-02-01T09:00:00.000Z',
    closed_at: null,
    triaged_at: null,
    verified_at: null,
    fixed_at: null,
    published_at: null,
    reopened_at: null,
    fix_by: null,
    disclose_on: null,
    external: [],
    duplicate_of: null,
    imported: true,
  };
  const opts = { calendar: berlin, staff: [], now: NOW, chains: new Map() };

  it('its historical stages are neither met nor missed, and the case says it was imported', () => {
    const c = analyseCase(
      imported,
      [
        deadline({
          case_id: imported.id,
          kind: 'acknowledge',
          due_at: '2024-02-02T09:00:00.000Z',
          historical: true,
        }),
        deadline({
          case_id: imported.id,
          kind: 'triage',
          due_at: '2024-02-06T09:00:00.000Z',
          historical: true,
        }),
      ],
      [],
      [],
      opts,
    );
    expect(c.imported).toBe(true);
    expect(stateOf(c)).toBe('new, imported');
    expect(c.stages.find((s) => s.stage === 'acknowledge')).toMatchObject({
      verdict: 'historical',
      dueAt: '2024-02-02T09:00:00.000Z',
      stillOpen: false,
    });
    expect(everyStage(c).filter((s) => s.result.verdict === 'missed')).toEqual([]);
    expect(describeStage(c.stages[0]!)).toBe('historical: imported from old mail, not judged');
  });

  it('a reopened imported case: the imported first cycle is history, the live cycle is judged', () => {
    const c = analyseCase(
      { ...imported, reopened_at: '2026-11-10T09:00:00.000Z' },
      [deadline({ case_id: imported.id, kind: 'triage', due_at: '2026-11-12T09:00:00.000Z' })],
      [],
      [],
      opts,
      [
        {
          ...deadline({ case_id: imported.id, kind: 'acknowledge', due_at: '2024-02-02T09:00:00.000Z' }),
          cycle_started_at: imported.created_at,
          cycle_ended_at: '2026-11-10T09:00:00.000Z',
        },
      ],
    );
    expect(c.earlierCycles[0]?.stages.find((s) => s.stage === 'acknowledge')?.verdict).toBe('historical');
    expect(c.stages.find((s) => s.stage === 'triage')).toMatchObject({ verdict: 'missed', stillOpen: true });
  });
});
