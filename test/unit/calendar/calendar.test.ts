import { describe, expect, it } from 'vitest';
import { createCalendar } from '../../../src/calendar/calendar.js';

const berlin = createCalendar({
  time_zone: 'Europe/Berlin',
  working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  holiday_country: 'DE',
  partial_day_holidays_closed: true,
  closed_days: ['2026-12-28'],
});

describe('calendar.add() in business days', () => {
  it('skips the weekend: Friday + 3 business days is Wednesday, same wall time', () => {
    expect(
      berlin.add(new Date('2026-11-27T09:30:00+01:00'), { amount: 3, unit: 'business_days' }).toISOString(),
    ).toBe(new Date('2026-12-02T09:30:00+01:00').toISOString());
  });

  it('skips Christmas (public), Christmas Eve (partial-day bank holiday) and a configured closed day', () => {
    // Wed 23 Dec + 1 → Thu 24 (closed, partial) → Fri 25, Sat, Sun, Mon 28 (closed day) → Tue 29
    expect(
      berlin.add(new Date('2026-12-23T10:00:00+01:00'), { amount: 1, unit: 'business_days' }).toISOString(),
    ).toBe(new Date('2026-12-29T10:00:00+01:00').toISOString());
  });

  it('starts the clock on the next business day for a report received on Saturday', () => {
    expect(
      berlin.add(new Date('2026-11-28T15:00:00+01:00'), { amount: 1, unit: 'business_days' }).toISOString(),
    ).toBe(new Date('2026-12-01T00:00:00+01:00').toISOString());
  });

  it('keeps wall-clock time across the DST change', () => {
    expect(
      berlin.add(new Date('2026-03-27T09:00:00+01:00'), { amount: 1, unit: 'business_days' }).toISOString(),
    ).toBe(new Date('2026-03-30T09:00:00+02:00').toISOString());
  });

  it('adds seconds for test policies', () => {
    expect(berlin.add(new Date('2026-11-27T09:30:00Z'), { amount: 30, unit: 'seconds' }).toISOString()).toBe(
      '2026-11-27T09:30:30.000Z',
    );
  });
});
