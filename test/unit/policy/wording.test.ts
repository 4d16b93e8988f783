import { describe, expect, it } from 'vitest';
import type { CalendarConfig } from '../../../src/calendar/calendar.js';
import { describeBusinessDays, formatSpan, formatWorkingWeek } from '../../../src/policy/wording.js';

describe('formatSpan()', () => {
  it.each([
    [{ amount: 3, unit: 'business_days' }, '3 business days'],
    [{ amount: 1, unit: 'business_days' }, '1 business day'],
    [{ amount: 90, unit: 'calendar_days' }, '90 calendar days'],
    [{ amount: 1, unit: 'calendar_days' }, '1 calendar day'],
    [{ amount: 1, unit: 'hours' }, '1 hour'],
    [{ amount: 30, unit: 'seconds' }, '30 seconds'],
  ] as const)('words %o as "%s"', (span, words) => {
    expect(formatSpan(span)).toBe(words);
  });
});

describe('formatWorkingWeek()', () => {
  it.each([
    [['mon', 'tue', 'wed', 'thu', 'fri'], 'Monday to Friday'],
    [['sun', 'mon', 'tue', 'wed', 'thu'], 'Monday, Tuesday, Wednesday, Thursday and Sunday'],
    [['mon', 'wed', 'fri'], 'Monday, Wednesday and Friday'],
    [['tue', 'mon'], 'Monday and Tuesday'],
    [['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], 'every day'],
  ] as const)('words %o as "%s"', (days, words) => {
    expect(formatWorkingWeek(days)).toBe(words);
  });
});

describe('describeBusinessDays()', () => {
  const base: CalendarConfig = {
    time_zone: 'Europe/Berlin',
    working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    partial_day_holidays_closed: false,
    closed_days: [],
  };

  it('names the week and zone alone when no holidays or closed days are configured', () => {
    expect(describeBusinessDays(base)).toBe(
      'Business days are Monday to Friday in the Europe/Berlin time zone.',
    );
  });

  it('names the holiday country and region, half-day holidays when they close, and the closed days', () => {
    expect(
      describeBusinessDays({
        ...base,
        holiday_country: 'DE',
        holiday_region: 'BE',
        partial_day_holidays_closed: true,
        closed_days: ['2026-12-28'],
      }),
    ).toBe(
      'Business days are Monday to Friday in the Europe/Berlin time zone, except public holidays and half-day holidays in DE-BE and the days we are closed (2026-12-28).',
    );
  });
});
