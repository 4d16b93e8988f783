import { createHash } from 'node:crypto';
import Holidays from 'date-holidays';
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
  /** True when the local date of `at` is a working day that is not a (closed) holiday. */
  isBusinessDay(at: Date): boolean;
  /** `start` plus a span: business days keep the wall-clock time and skip closed days. */
  add(start: Date, span: Span): Date;
  /** The last millisecond of a local date (YYYY-MM-DD) in the calendar's zone: "fix by 3 March". */
  endOfDay(date: string): Date;
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

  const isOpenDay = (local: DateTime): boolean => {
    const key = local.toISODate() ?? '';
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    let open = working.has(local.weekday) && !closed.has(key);
    if (open && holidays) {
      // Ask about local noon: a partial-day holiday starting at 14:00 still closes the day.
      const probe = local.set({ hour: 12 }).toJSDate();
      const noon = holidays.isHoliday(probe);
      const evening = holidays.isHoliday(local.set({ hour: 18 }).toJSDate());
      const found = [...(noon || []), ...(evening || [])];
      if (found.some((h) => closedTypes.has(h.type))) open = false;
    }
    cache.set(key, open);
    return open;
  };

  const id = createHash('sha256').update(JSON.stringify(cfg)).digest('hex').slice(0, 12);

  return {
    id,
    isBusinessDay: (at) => isOpenDay(DateTime.fromJSDate(at, { zone })),
    endOfDay: (date) => DateTime.fromISO(date, { zone }).endOf('day').toJSDate(),
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
