import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCalendar, type Calendar } from '../../../src/calendar/calendar.js';

/** Calendars with different zones, weeks, holidays and DST rules. */
const CALENDARS: Record<string, Calendar> = {
  berlin: createCalendar({
    time_zone: 'Europe/Berlin',
    working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    holiday_country: 'DE',
    holiday_region: 'BY',
    partial_day_holidays_closed: true,
    closed_days: ['2027-12-27', '2027-12-28'],
  }),
  newYork: createCalendar({
    time_zone: 'America/New_York',
    working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    holiday_country: 'US',
    partial_day_holidays_closed: true,
    closed_days: [],
  }),
  dubai: createCalendar({
    time_zone: 'Asia/Dubai',
    working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    partial_day_holidays_closed: true,
    closed_days: [],
  }),
  sixDays: createCalendar({
    time_zone: 'Australia/Sydney',
    working_days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'],
    holiday_country: 'AU',
    holiday_region: 'NSW',
    partial_day_holidays_closed: true,
    closed_days: [],
  }),
};

const calendar = fc.constantFrom(...Object.keys(CALENDARS)).map((k) => CALENDARS[k]!);
const instant = fc.date({
  min: new Date('2026-01-01T00:00:00Z'),
  max: new Date('2028-12-31T00:00:00Z'),
  noInvalidDate: true,
});
/** A second instant within a few months of the first (between() walks every day). */
const near = (a: Date) =>
  fc.integer({ min: -120 * 86_400_000, max: 120 * 86_400_000 }).map((d) => new Date(a.getTime() + d));
/** Wall-clock hours that exist on every day, also on DST days (no 02:00–03:59). */
const dstSafe = (cal: Calendar, t: Date): boolean => {
  const hour = new Intl.DateTimeFormat('en-GB', {
    timeZone: cal.zone,
    hour: '2-digit',
    hourCycle: 'h23',
  }).format(t);
  return Number(hour) >= 4 && Number(hour) <= 22;
};
const days = fc.integer({ min: 1, max: 40 });
const bd = (amount: number) => ({ amount, unit: 'business_days' as const });

// 120 s: under `npm test` (every tier at once, with coverage) one property took over 60 s.
describe(
  'business-day arithmetic, for any date 2026–2028 and several calendars',
  { timeout: 120_000 },
  () => {
    it('never lands on a closed day', () => {
      fc.assert(
        fc.property(calendar, instant, days, (cal, start, n) => {
          expect(cal.isBusinessDay(cal.add(start, bd(n)))).toBe(true);
        }),
        { numRuns: 400 },
      );
    });

    it('is monotonic in the number of days and in the start', () => {
      fc.assert(
        fc.property(calendar, instant, instant, days, days, (cal, a, b, n, m) => {
          fc.pre(dstSafe(cal, a) && dstSafe(cal, b));
          const [lo, hi] = n <= m ? [n, m] : [m, n];
          expect(cal.add(a, bd(lo)).getTime()).toBeLessThanOrEqual(cal.add(a, bd(hi)).getTime());
          if (n !== m) expect(cal.add(a, bd(lo)).getTime()).toBeLessThan(cal.add(a, bd(hi)).getTime());
          const [early, late] = a <= b ? [a, b] : [b, a];
          expect(cal.add(early, bd(n)).getTime()).toBeLessThanOrEqual(cal.add(late, bd(n)).getTime());
        }),
        { numRuns: 400 },
      );
    });

    it('measures back exactly the days it added, from a business day', () => {
      fc.assert(
        fc.property(calendar, instant, days, (cal, start, n) => {
          fc.pre(cal.isBusinessDay(start) && dstSafe(cal, start));
          expect(cal.businessDaysBetween(start, cal.add(start, bd(n)))).toBeCloseTo(n, 9);
        }),
        { numRuns: 300 },
      );
    });

    it('going back n days and forward n days returns to a day no later than the start', () => {
      fc.assert(
        fc.property(calendar, instant, days, (cal, start, n) => {
          fc.pre(cal.isBusinessDay(start) && dstSafe(cal, start));
          const back = cal.add(start, bd(-n));
          expect(cal.isBusinessDay(back)).toBe(true);
          expect(cal.add(back, bd(n)).getTime()).toBe(start.getTime());
        }),
        { numRuns: 300 },
      );
    });

    it('is antisymmetric: between(a, b) = −between(b, a)', () => {
      fc.assert(
        fc.property(
          calendar,
          instant.chain((a) => near(a).map((b): [Date, Date] => [a, b])),
          (cal, [a, b]) => {
            expect(cal.businessDaysBetween(a, b) + cal.businessDaysBetween(b, a)).toBeCloseTo(0, 9);
            const between = cal.businessDaysBetween(a, b);
            if (b >= a) expect(between).toBeGreaterThanOrEqual(0);
            else expect(between).toBeLessThanOrEqual(0);
          },
        ),
        { numRuns: 200 },
      );
    });
  },
);
