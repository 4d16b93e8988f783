import Holidays from 'date-holidays';
import { DateTime } from 'luxon';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCalendar, type CalendarConfig } from '../../../src/calendar/calendar.js';

/**
 * The holidays of a year are read from date-holidays once, not asked day by day: `cases list`
 * on a case years late spent 3.7 s counting its business days (four isHoliday calls, each
 * evaluating every rule of the year, per day), and timed out a CI run under load.
 */

const cfg = (over: Partial<CalendarConfig>): CalendarConfig => ({
  time_zone: 'Europe/Berlin',
  working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  holiday_country: 'DE',
  partial_day_holidays_closed: true,
  closed_days: [],
  ...over,
});

/** The rule as date-holidays answers it asked about one instant: the oracle. */
function oracle(c: CalendarConfig): (day: DateTime) => number {
  const country = c.holiday_country ?? '';
  const hd = c.holiday_region ? new Holidays(country, c.holiday_region) : new Holidays(country);
  const closedTypes = new Set(c.partial_day_holidays_closed ? ['public', 'bank'] : ['public']);
  const weekdays = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 } as const;
  const working = new Set<number>(c.working_days.map((d) => weekdays[d]));
  const DAY = 86_400_000;
  return (day) => {
    if (!working.has(day.weekday)) return 0;
    const found = [12, 18].flatMap((h) => hd.isHoliday(day.set({ hour: h }).toJSDate()) || []);
    if (found.some((h) => closedTypes.has(h.type))) return 0;
    let close = DAY;
    for (const h of found) {
      if (h.type !== 'bank' && h.type !== 'public') continue;
      const s = DateTime.fromJSDate(h.start, { zone: c.time_zone });
      const wall = ((s.hour * 60 + s.minute) * 60 + s.second) * 1000;
      if (s.toISODate() === day.toISODate() && wall > 0) close = Math.min(close, wall);
    }
    return close / DAY;
  };
}

afterEach(() => vi.restoreAllMocks());

describe('calendar holidays', () => {
  it.each([
    { name: 'DE, bank holidays closed', c: cfg({}) },
    { name: 'DE-BY, public only', c: cfg({ holiday_region: 'BY', partial_day_holidays_closed: false }) },
    { name: 'US in New York', c: cfg({ holiday_country: 'US', time_zone: 'America/New_York' }) },
    { name: 'GB in London', c: cfg({ holiday_country: 'GB', time_zone: 'Europe/London' }) },
    { name: 'JP in Tokyo', c: cfg({ holiday_country: 'JP', time_zone: 'Asia/Tokyo' }) },
    { name: 'AU in Sydney', c: cfg({ holiday_country: 'AU', time_zone: 'Australia/Sydney' }) },
  ])('counts every day from Dec 2025 to Jan 2027 as date-holidays asked about it does ($name)', ({ c }) => {
    const calendar = createCalendar(c);
    const expected = oracle(c);
    const wrong: string[] = [];
    let day = DateTime.fromISO('2025-12-01', { zone: c.time_zone });
    const end = DateTime.fromISO('2027-02-01', { zone: c.time_zone });
    for (; day < end; day = day.plus({ days: 1 })) {
      const share = calendar.businessDaysBetween(day.toJSDate(), day.endOf('day').toJSDate());
      const want = expected(day);
      if (Math.abs(share - want) > 1e-6) wrong.push(`${day.toISODate() ?? ''}: ${share} ≠ ${want}`);
    }
    expect(wrong).toEqual([]);
  });

  it('asks date-holidays once per year, not once per day, for three years of business days', () => {
    const perDay = vi.spyOn(Holidays.prototype, 'isHoliday');
    const perYear = vi.spyOn(Holidays.prototype, 'getHolidays');
    const calendar = createCalendar(cfg({}));
    const left = calendar.businessDaysBetween(
      new Date('2024-02-01T09:00:00Z'),
      new Date('2026-11-24T12:00:00Z'),
    );
    expect(left).toBeGreaterThan(680);
    expect(perDay).not.toHaveBeenCalled();
    // 2023 (the day before 1 Jan in the zone's year) to 2027 at most.
    expect(perYear.mock.calls.length).toBeLessThanOrEqual(5);
  });

  it('closes the days of a holiday that began the year before (Incwala, Eswatini: 28 Dec – 2 Jan)', () => {
    const sz = createCalendar(cfg({ holiday_country: 'SZ', time_zone: 'Africa/Mbabane' }));
    expect(sz.isBusinessDay(new Date('2026-01-02T12:00:00+02:00'))).toBe(false); // Friday, Incwala
    expect(sz.isBusinessDay(new Date('2026-01-05T12:00:00+02:00'))).toBe(true); // Monday after
  });
});
