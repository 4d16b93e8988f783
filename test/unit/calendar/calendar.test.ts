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

describe('calendar.add() going back (reminders before a deadline)', () => {
  it('Tuesday − 1 business day is Monday; Monday − 1 is the Friday before', () => {
    const bd = (n: number) => ({ amount: n, unit: 'business_days' as const });
    expect(berlin.add(new Date('2026-12-01T10:00:00+01:00'), bd(-1)).toISOString()).toBe(
      new Date('2026-11-30T10:00:00+01:00').toISOString(),
    );
    expect(berlin.add(new Date('2026-11-30T10:00:00+01:00'), bd(-1)).toISOString()).toBe(
      new Date('2026-11-27T10:00:00+01:00').toISOString(),
    );
  });
});

describe('calendar.businessDaysBetween()', () => {
  it('counts Friday 12:00 → Monday 12:00 as one business day', () => {
    expect(
      berlin.businessDaysBetween(
        new Date('2026-11-27T12:00:00+01:00'),
        new Date('2026-11-30T12:00:00+01:00'),
      ),
    ).toBeCloseTo(1, 10);
  });

  it('is negative when the second time is earlier (time left on a missed deadline)', () => {
    expect(
      berlin.businessDaysBetween(
        new Date('2026-11-30T12:00:00+01:00'),
        new Date('2026-11-27T12:00:00+01:00'),
      ),
    ).toBeCloseTo(-1, 10);
  });

  it('skips Christmas Eve as closed, and Christmas, and the configured closed day', () => {
    // Wed 23 Dec 00:00 → Tue 29 Dec 00:00: only Wed 23 is open (24 partial-closed, 25 public,
    // 26/27 weekend, 28 closed day).
    expect(
      berlin.businessDaysBetween(
        new Date('2026-12-23T00:00:00+01:00'),
        new Date('2026-12-29T00:00:00+01:00'),
      ),
    ).toBeCloseTo(1, 10);
  });

  it('counts Christmas Eve until 14:00 when partial-day holidays do not close the day', () => {
    const open = createCalendar({
      time_zone: 'Europe/Berlin',
      working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      holiday_country: 'DE',
      partial_day_holidays_closed: false,
      closed_days: [],
    });
    expect(open.isBusinessDay(new Date('2026-12-24T10:00:00+01:00'))).toBe(true);
    expect(
      open.businessDaysBetween(new Date('2026-12-24T00:00:00+01:00'), new Date('2026-12-25T00:00:00+01:00')),
    ).toBeCloseTo(14 / 24, 10);
  });

  it('counts wall-clock days across the DST change', () => {
    // Sun 29 Mar 2026 is 23 hours long in Berlin (and closed); Fri 27 and Mon 30 count whole.
    expect(
      berlin.businessDaysBetween(
        new Date('2026-03-27T00:00:00+01:00'),
        new Date('2026-03-31T00:00:00+02:00'),
      ),
    ).toBeCloseTo(2, 10);
  });

  it('counts a public holiday of the configured region only there (8 March in Berlin)', () => {
    const be = createCalendar({
      time_zone: 'Europe/Berlin',
      working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      holiday_country: 'DE',
      holiday_region: 'BE',
      partial_day_holidays_closed: true,
      closed_days: [],
    });
    const march9 = new Date('2027-03-08T10:00:00+01:00'); // Monday, Internationaler Frauentag
    expect(be.isBusinessDay(march9)).toBe(false);
    expect(berlin.isBusinessDay(march9)).toBe(true);
  });

  it('agrees with add() on a whole-day bank holiday that does not close the day (Finland, 24 Dec)', () => {
    const fi = createCalendar({
      time_zone: 'Europe/Helsinki',
      working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      holiday_country: 'FI',
      partial_day_holidays_closed: false,
      closed_days: [],
    });
    const start = new Date('2026-12-23T10:00:00+02:00');
    const next = fi.add(start, { amount: 1, unit: 'business_days' });
    expect(next.toISOString()).toBe(new Date('2026-12-24T10:00:00+02:00').toISOString());
    expect(fi.businessDaysBetween(start, next)).toBeCloseTo(1, 10);
  });
});

describe('calendar.startOfDay() and endOfDay()', () => {
  it('bound a local date in the zone, on a DST change too', () => {
    expect(berlin.startOfDay('2026-01-01').toISOString()).toBe('2025-12-31T23:00:00.000Z');
    // 29 March 2026: clocks go forward at 02:00 in Berlin; the day is 23 hours long.
    expect(berlin.startOfDay('2026-03-29').toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(berlin.endOfDay('2026-03-28').getTime() + 1).toBe(berlin.startOfDay('2026-03-29').getTime());
  });
});
