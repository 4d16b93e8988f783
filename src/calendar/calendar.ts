import { createHash } from 'node:crypto';
import Holidays, { type HolidaysTypes } from 'date-holidays';
import { DateTime } from 'luxon';
import type { Config, DeadlineUnit } from '../config/schema.js';

export type CalendarConfig = Config['calendar'];

export interface Span {
  amount: number;
  unit: DeadlineUnit;
}

/** Business-day arithmetic in the organisation's time zone, working week and holidays. */
export interface Calendar {
  /** A short digest of the calendar settings, recorded with every deadline it produced. */
  readonly id: string;
  /** The IANA time zone the calendar counts in. */
  readonly zone: string;
  /** True when the local date of `at` is a working day that is not a (closed) holiday. */
  isBusinessDay(at: Date): boolean;
  /**
   * `start` plus a span: business days keep the wall-clock time and skip closed days. A negative
   * amount goes back (a reminder "one business day before" a deadline).
   */
  add(start: Date, span: Span): Date;
  /**
   * Business days from `from` to `to` (negative when `to` is earlier): each open local day counts
   * with the share of its wall-clock day inside the interval, so the 23- and 25-hour DST days
   * count like any other and `businessDaysBetween(t, add(t, n business days))` is n. A partial
   * holiday that does not close the day (`partial_day_holidays_closed = false`) counts until it
   * starts.
   */
  businessDaysBetween(from: Date, to: Date): number;
  /** The last millisecond of a local date (YYYY-MM-DD) in the calendar's zone: "fix by 3 March". */
  endOfDay(date: string): Date;
  /** The first instant of a local date (YYYY-MM-DD) in the calendar's zone: "from 1 January". */
  startOfDay(date: string): Date;
}

const WEEKDAY_NUMBERS = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 } as const;

/**
 * Builds the calendar. A day is closed when it is not a working day, is a `public` holiday of the
 * configured country/region, is listed in `closed_days`, or — when `partial_day_holidays_closed` —
 * holds a `bank` holiday (e.g. 24 and 31 Dec from 14:00 in DE; date-holidays marks them partial).
 */
export function createCalendar(cfg: CalendarConfig): Calendar {
  const zone = cfg.time_zone;
  const working = new Set<number>(cfg.working_days.map((d) => WEEKDAY_NUMBERS[d]));
  const closed = new Set(cfg.closed_days);
  const holidays = cfg.holiday_country
    ? cfg.holiday_region
      ? new Holidays(cfg.holiday_country, cfg.holiday_region)
      : new Holidays(cfg.holiday_country)
    : undefined;
  const closedTypes = new Set(cfg.partial_day_holidays_closed ? ['public', 'bank'] : ['public']);
  const cache = new Map<string, boolean>();
  // The holidays of a year, read once: date-holidays' isHoliday() evaluates every rule of the year
  // on each call, and counting business days over years of a late case asked it 4 times a day.
  const years = new Map<number, HolidaysTypes.Holiday[]>();
  const ofYear = (year: number): HolidaysTypes.Holiday[] => {
    let list = years.get(year);
    if (list === undefined) {
      list = holidays?.getHolidays(year) ?? [];
      years.set(year, list);
    }
    return list;
  };
  /**
   * The holidays in force at a local instant: those of the year before, the year and the year
   * after whose [start, end) holds it. isHoliday() looks only at the instant's own year, so it
   * missed a holiday that began the year before (Eswatini's Incwala, 28 Dec to 2 Jan); this does
   * not. Elsewhere the two answer alike (every day 2015–2035 in 21 countries and zones, review).
   */
  const holidaysAt = (local: DateTime): HolidaysTypes.Holiday[] => {
    const t = local.toJSDate();
    const y = t.getUTCFullYear();
    return [y - 1, y, y + 1].flatMap(ofYear).filter((h) => h.start <= t && t < h.end);
  };

  const isOpenDay = (local: DateTime): boolean => {
    const key = local.toISODate() ?? '';
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    let open = working.has(local.weekday) && !closed.has(key);
    if (open && holidays) {
      // Ask about local noon: a partial-day holiday starting at 14:00 still closes the day.
      const found = [...holidaysAt(local.set({ hour: 12 })), ...holidaysAt(local.set({ hour: 18 }))];
      if (found.some((h) => closedTypes.has(h.type))) open = false;
    }
    cache.set(key, open);
    return open;
  };

  const DAY_MS = 86_400_000;
  /** Wall-clock time of day in ms (what the clock on the wall shows), DST-proof. */
  const wall = (t: DateTime): number => ((t.hour * 60 + t.minute) * 60 + t.second) * 1000 + t.millisecond;
  const closeCache = new Map<string, number>();
  /**
   * When a local day closes, as wall-clock ms: 0 when it is closed all day, DAY_MS when open all
   * day, and the start of a partial holiday that leaves the day open (e.g. 24 Dec at 14:00).
   */
  const closesAt = (day: DateTime): number => {
    const key = day.toISODate() ?? '';
    const hit = closeCache.get(key);
    if (hit !== undefined) return hit;
    let close = isOpenDay(day) ? DAY_MS : 0;
    if (close > 0 && holidays) {
      for (const probe of [12, 18]) {
        for (const h of holidaysAt(day.set({ hour: probe }))) {
          if (h.type !== 'bank' && h.type !== 'public') continue;
          // Only a holiday that starts during the day (a partial one) shortens an open day; a
          // whole-day bank holiday that did not close it (isOpenDay) leaves it open.
          const starts = DateTime.fromJSDate(h.start, { zone });
          if (starts.toISODate() === key && wall(starts) > 0) close = Math.min(close, wall(starts));
        }
      }
    }
    closeCache.set(key, close);
    return close;
  };

  const between = (from: Date, to: Date): number => {
    if (to.getTime() < from.getTime()) return -between(to, from);
    const a = DateTime.fromJSDate(from, { zone });
    const b = DateTime.fromJSDate(to, { zone });
    let total = 0;
    for (let day = a.startOf('day'); day <= b; day = day.plus({ days: 1 }).startOf('day')) {
      const close = closesAt(day);
      if (close === 0) continue;
      const sameDayA = day.hasSame(a, 'day');
      const sameDayB = day.hasSame(b, 'day');
      const lo = sameDayA ? wall(a) : 0;
      const hi = Math.min(close, sameDayB ? wall(b) : DAY_MS);
      if (hi > lo) total += (hi - lo) / DAY_MS;
    }
    return total;
  };

  const id = createHash('sha256').update(JSON.stringify(cfg)).digest('hex').slice(0, 12);

  return {
    id,
    zone,
    isBusinessDay: (at) => isOpenDay(DateTime.fromJSDate(at, { zone })),
    businessDaysBetween: between,
    endOfDay: (date) => DateTime.fromISO(date, { zone }).endOf('day').toJSDate(),
    startOfDay: (date) => DateTime.fromISO(date, { zone }).startOf('day').toJSDate(),
    add(start, span) {
      const local = DateTime.fromJSDate(start, { zone });
      switch (span.unit) {
        case 'seconds':
          return new Date(start.getTime() + span.amount * 1000);
        case 'minutes':
          return new Date(start.getTime() + span.amount * 60_000);
        case 'hours':
          return new Date(start.getTime() + span.amount * 3_600_000);
        case 'calendar_days':
          return local.plus({ days: span.amount }).toJSDate();
        case 'business_days': {
          if (span.amount < 0) {
            let t = local;
            let left = -span.amount;
            while (left > 0) {
              t = t.minus({ days: 1 });
              if (isOpenDay(t)) left -= 1;
            }
            return t.toJSDate();
          }
          // Received on a closed day: the clock starts at the beginning of the next business day.
          let t = local;
          if (!isOpenDay(t)) {
            do t = t.plus({ days: 1 }).startOf('day');
            while (!isOpenDay(t));
          }
          let left = span.amount;
          while (left > 0) {
            t = t.plus({ days: 1 });
            if (isOpenDay(t)) left -= 1;
          }
          return t.toJSDate();
        }
      }
    },
  };
}
