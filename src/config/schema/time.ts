import { z } from 'zod';
import Holidays from 'date-holidays';
import { positiveInt, UNITS } from './fields.js';

/** Business time: the working calendar and the deadline of each case stage. */

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const isoDate = z.iso.date({ message: 'must be a date YYYY-MM-DD' });

export const calendar = z
  .strictObject({
    time_zone: z.string().refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'must be an IANA time zone such as "Europe/Berlin"'),
    working_days: z.array(z.enum(WEEKDAYS)).min(1, 'at least one working day'),
    holiday_country: z
      .string()
      .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as "DE"')
      .optional(),
    holiday_region: z.string().optional(),
    /** Count bank/partial-day holidays (e.g. 24 Dec from 14:00 in DE) as closed. */
    partial_day_holidays_closed: z.boolean(),
    closed_days: z.array(isoDate),
  })
  .superRefine((v, ctx) => {
    if (v.holiday_region && !v.holiday_country) {
      ctx.addIssue({ code: 'custom', path: ['holiday_region'], message: 'needs holiday_country' });
      return;
    }
    if (!v.holiday_country) return;
    const hd = new Holidays();
    const countries: Partial<Record<string, string>> = hd.getCountries();
    // getStates() returns undefined for countries without regions, whatever its types say.
    const states = hd.getStates(v.holiday_country) as Partial<Record<string, string>> | undefined;
    if (!countries[v.holiday_country]) {
      ctx.addIssue({
        code: 'custom',
        path: ['holiday_country'],
        message: `unknown country ${v.holiday_country}`,
      });
    } else if (v.holiday_region && !states?.[v.holiday_region]) {
      ctx.addIssue({
        code: 'custom',
        path: ['holiday_region'],
        message: `unknown region ${v.holiday_region} of ${v.holiday_country}`,
      });
    }
  });

const span = z.strictObject({ amount: positiveInt, unit: z.enum(UNITS) });

export const deadlines = z
  .strictObject({
    acknowledge: span,
    triage: span,
    verify: span,
    fix: z.strictObject({
      unit: z.enum(UNITS),
      critical: positiveInt,
      high: positiveInt,
      medium: positiveInt,
      low: positiveInt,
    }),
    /** Used when no disclosure date has been agreed with the reporter. */
    disclose: span,
  })
  .superRefine((v, ctx) => {
    const order = ['critical', 'high', 'medium', 'low'] as const;
    for (let i = 1; i < order.length; i++) {
      const a = order[i - 1] as (typeof order)[number];
      const b = order[i] as (typeof order)[number];
      if (v.fix[b] < v.fix[a]) {
        ctx.addIssue({
          code: 'custom',
          path: ['fix', b],
          message: `(${v.fix[b]}) must not be shorter than fix.${a} (${v.fix[a]})`,
        });
      }
    }
  });
