import { describe, expect, it } from 'vitest';
import { createCalendar } from '../../../src/calendar/calendar.js';
import {
  planReminders,
  reminderRecipients,
  reminderVerdict,
  type EmbargoCase,
} from '../../../src/7-cases/rules/embargo.js';
import { NOW } from '../../support/mail-fixtures.js';

/** Every day open, UTC (the test profile's calendar). */
const utc = createCalendar({
  time_zone: 'UTC',
  working_days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
  partial_day_holidays_closed: false,
  closed_days: [],
});
const TWO_DAYS = { amount: 2, unit: 'calendar_days' } as const;
const HOUR = 3_600_000;

// NOW is Tuesday 2026-12-01 12:00 UTC; the agreed date is three days out.
const DATE = '2026-12-04';
const DUE = '2026-12-04T23:59:59.999Z';
const FIRE = new Date('2026-12-02T23:59:59.999Z');

function embargo(over: Partial<EmbargoCase> = {}): EmbargoCase {
  return {
    discloseOn: DATE,
    agreedAt: NOW.toISOString(),
    closed: false,
    published: false,
    onHold: false,
    hasReporter: true,
    deadline: { dueAt: DUE, state: 'open' },
    ...over,
  };
}

const opts = { remindBefore: TWO_DAYS, calendar: utc, reporterTold: true };
const reporterRow = { recipient: 'reporter' as const, disclose_on: DATE };
const assigneeRow = { recipient: 'assignee' as const, disclose_on: DATE };

describe('planReminders() (#14 embargo)', () => {
  it('plans one reminder each to the reporter and the assignee, remind_before ahead of the end of the agreed day', () => {
    expect(planReminders(embargo(), TWO_DAYS, utc)).toEqual([
      { recipient: 'reporter', discloseOn: DATE, fireAt: FIRE },
      { recipient: 'assignee', discloseOn: DATE, fireAt: FIRE },
    ]);
  });

  it('counts from the deadline as stored: a pause moved it out, and the reminders with it', () => {
    const moved = new Date(Date.parse(DUE) + 5 * 24 * HOUR);
    const plan = planReminders(
      embargo({ deadline: { dueAt: moved.toISOString(), state: 'open' } }),
      TWO_DAYS,
      utc,
    );
    expect(plan.map((p) => p.fireAt)).toEqual([
      new Date('2026-12-07T23:59:59.999Z'),
      new Date('2026-12-07T23:59:59.999Z'),
    ]);
  });

  it('plans none without an agreed date, once published or closed, or when the deadline is met or cancelled', () => {
    expect(planReminders(embargo({ discloseOn: null }), TWO_DAYS, utc)).toEqual([]);
    expect(planReminders(embargo({ published: true }), TWO_DAYS, utc)).toEqual([]);
    expect(planReminders(embargo({ closed: true }), TWO_DAYS, utc)).toEqual([]);
    expect(planReminders(embargo({ deadline: null }), TWO_DAYS, utc)).toEqual([]);
    expect(planReminders(embargo({ deadline: { dueAt: DUE, state: 'met' } }), TWO_DAYS, utc)).toEqual([]);
    expect(planReminders(embargo({ deadline: { dueAt: DUE, state: 'cancelled' } }), TWO_DAYS, utc)).toEqual(
      [],
    );
  });

  it('keeps them planned while the clock stands still (on hold): they wait, not stop', () => {
    expect(
      planReminders(embargo({ onHold: true, deadline: { dueAt: DUE, state: 'paused' } }), TWO_DAYS, utc),
    ).toHaveLength(2);
  });

  it('plans only the assignee when the case has no reporter', () => {
    expect(planReminders(embargo({ hasReporter: false }), TWO_DAYS, utc).map((p) => p.recipient)).toEqual([
      'assignee',
    ]);
  });

  it('counts business days in the calendar zone, skipping closed days', () => {
    // Mon–Fri in Berlin, Friday 4 December a company shutdown: two business days before the end
    // of Monday 7 December (Berlin) is the end of Wednesday 2 December (Berlin), 23:00 UTC.
    const berlin = createCalendar({
      time_zone: 'Europe/Berlin',
      working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      partial_day_holidays_closed: false,
      closed_days: ['2026-12-04'],
    });
    const due = berlin.endOfDay('2026-12-07').toISOString();
    expect(due).toBe('2026-12-07T22:59:59.999Z');
    const plan = planReminders(
      embargo({ discloseOn: '2026-12-07', deadline: { dueAt: due, state: 'open' } }),
      { amount: 2, unit: 'business_days' },
      berlin,
    );
    expect(plan.map((p) => p.fireAt.toISOString())).toEqual([
      '2026-12-02T22:59:59.999Z',
      '2026-12-02T22:59:59.999Z',
    ]);
  });
});

describe('reminderVerdict() (#14 embargo)', () => {
  it('waits until the reminder time, then sends', () => {
    expect(reminderVerdict(embargo(), reporterRow, NOW, opts)).toEqual({ action: 'wait', fireAt: FIRE });
    expect(reminderVerdict(embargo(), reporterRow, FIRE, opts)).toEqual({ action: 'send' });
    expect(reminderVerdict(embargo(), assigneeRow, FIRE, opts)).toEqual({ action: 'send' });
  });

  it("stops a reminder of a date since changed (the new date's are other rows)", () => {
    const changed = embargo({
      discloseOn: '2026-12-10',
      deadline: { dueAt: '2026-12-10T23:59:59.999Z', state: 'open' },
    });
    expect(reminderVerdict(changed, reporterRow, FIRE, opts)).toEqual({ action: 'stop', why: 'not-planned' });
    expect(
      reminderVerdict(changed, { recipient: 'reporter', disclose_on: '2026-12-10' }, FIRE, opts),
    ).toEqual({
      action: 'wait',
      fireAt: new Date('2026-12-08T23:59:59.999Z'),
    });
  });

  it('stops once published or closed', () => {
    expect(reminderVerdict(embargo({ published: true }), assigneeRow, FIRE, opts)).toEqual({
      action: 'stop',
      why: 'not-planned',
    });
    expect(reminderVerdict(embargo({ closed: true }), assigneeRow, FIRE, opts)).toEqual({
      action: 'stop',
      why: 'not-planned',
    });
    expect(reminderVerdict(embargo({ hasReporter: false }), reporterRow, FIRE, opts)).toEqual({
      action: 'stop',
      why: 'not-planned',
    });
  });

  it('waits on hold (and while the deadline is paused), whatever the time', () => {
    const late = new Date(Date.parse(DUE) + HOUR);
    expect(reminderVerdict(embargo({ onHold: true }), assigneeRow, late, opts)).toEqual({
      action: 'wait',
      fireAt: null,
    });
    expect(
      reminderVerdict(embargo({ deadline: { dueAt: DUE, state: 'paused' } }), assigneeRow, late, opts),
    ).toEqual({
      action: 'wait',
      fireAt: null,
    });
  });

  it('after a hold is lifted counts from the moved deadline: sent at once when its new time is past', () => {
    // Held from NOW for 3 days: the deadline moved out by 3 days, the reminders to 5 December.
    const lifted = embargo({ deadline: { dueAt: '2026-12-07T23:59:59.999Z', state: 'open' } });
    expect(reminderVerdict(lifted, assigneeRow, FIRE, opts)).toEqual({
      action: 'wait',
      fireAt: new Date('2026-12-05T23:59:59.999Z'),
    });
    expect(reminderVerdict(lifted, assigneeRow, new Date('2026-12-06T09:00:00Z'), opts)).toEqual({
      action: 'send',
    });
  });

  it('stops one not sent by the due time: the ladder of the disclose deadline takes over', () => {
    expect(reminderVerdict(embargo(), assigneeRow, new Date(DUE), opts)).toEqual({
      action: 'stop',
      why: 'date-passed',
    });
  });

  describe('when the date is agreed already inside the reminder window', () => {
    const agreedLate = embargo({ agreedAt: new Date(FIRE.getTime() + HOUR).toISOString() });
    const now = new Date(FIRE.getTime() + 2 * HOUR);

    it("sends the assignee's at once (the next sweep)", () => {
      expect(reminderVerdict(agreedLate, assigneeRow, now, opts)).toEqual({ action: 'send' });
    });

    it("stops the reporter's: the disclosure-scheduled status mail told them of that date just now", () => {
      expect(reminderVerdict(agreedLate, reporterRow, now, opts)).toEqual({
        action: 'stop',
        why: 'agreed-in-window',
      });
    });

    it("sends the reporter's when no status mail is configured for the date", () => {
      expect(reminderVerdict(agreedLate, reporterRow, now, { ...opts, reporterTold: false })).toEqual({
        action: 'send',
      });
    });

    it("sends the reporter's when the date was agreed before the window", () => {
      expect(reminderVerdict(embargo(), reporterRow, now, opts)).toEqual({ action: 'send' });
    });
  });
});

describe('reminderRecipients() (#14 embargo)', () => {
  const config = {
    staff: [
      { address: 'alice@x.test', roles: ['security'] },
      { address: 'bob@x.test', roles: ['developer'] },
      { address: 'carol@x.test', roles: ['manager', 'security'] },
    ],
  } as unknown as Parameters<typeof reminderRecipients>[0];

  it('the reporter; the assignee, or the security staff when nobody is assigned (as the ladder)', () => {
    const c = { reporterAddress: 'r@x.test', assignee: 'bob@x.test' };
    expect(reminderRecipients(config, 'reporter', c)).toEqual(['r@x.test']);
    expect(reminderRecipients(config, 'assignee', c)).toEqual(['bob@x.test']);
    expect(reminderRecipients(config, 'assignee', { ...c, assignee: null })).toEqual([
      'alice@x.test',
      'carol@x.test',
    ]);
  });
});
