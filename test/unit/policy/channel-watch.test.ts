import { describe, expect, it } from 'vitest';
import { createCalendar } from '../../../src/calendar/calendar.js';
import {
  dueChannelAlerts,
  expiryOutlook,
  timeLeft,
  watchedExpiries,
} from '../../../src/policy/channel-watch.js';
import { NOW } from '../../support/mail-fixtures.js';

/** Mon–Fri in UTC, no holidays: the weekend is the only closed time. */
const calendar = createCalendar({
  time_zone: 'UTC',
  working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  partial_day_holidays_closed: false,
  closed_days: [],
});
const DAY = 86_400_000;
const THIRTY_DAYS = { amount: 30, unit: 'calendar_days' } as const;
const FPR = '70391E1F60DD1FCF4E665A800F2409846A82D91C';
const at = (days: number): Date => new Date(NOW.getTime() + days * DAY);

describe('dueChannelAlerts() (#12 the public-channel watch)', () => {
  it('is due 30 days before security.txt expires', () => {
    const watched = watchedExpiries(at(30).toISOString(), undefined);
    expect(dueChannelAlerts(watched, NOW, THIRTY_DAYS, calendar)).toEqual([
      { subject: 'security.txt', expiresAt: at(30) },
    ]);
  });

  it('is not due 31 days before', () => {
    const watched = watchedExpiries(at(31).toISOString(), undefined);
    expect(dueChannelAlerts(watched, NOW, THIRTY_DAYS, calendar)).toEqual([]);
  });

  it('is due at once when the date already passed', () => {
    const watched = watchedExpiries(undefined, { fingerprint: FPR, expires: at(-3) });
    expect(dueChannelAlerts(watched, NOW, THIRTY_DAYS, calendar)).toEqual([
      { subject: `team-key:${FPR}`, expiresAt: at(-3) },
    ]);
  });

  it('watches nothing without an expiry (Expires unset, a key that never expires)', () => {
    const watched = watchedExpiries(undefined, { fingerprint: FPR, expires: null });
    expect(watched).toEqual([
      { subject: 'security.txt', expiresAt: null },
      { subject: `team-key:${FPR}`, expiresAt: null },
    ]);
    expect(dueChannelAlerts(watched, NOW, THIRTY_DAYS, calendar)).toEqual([]);
  });

  it('watches the key under its fingerprint and security.txt at the configured instant', () => {
    const watched = watchedExpiries('2027-01-10T00:00:00+01:00', {
      fingerprint: FPR.toLowerCase(),
      expires: at(5),
    });
    expect(watched).toEqual([
      { subject: 'security.txt', expiresAt: new Date('2027-01-09T23:00:00Z') },
      { subject: `team-key:${FPR}`, expiresAt: at(5) },
    ]);
  });

  describe('when watch_before is in business days', () => {
    // Monday 14 Dec 2026, 12:00 UTC; two business days before is Thursday 10 Dec, 12:00.
    const monday = new Date('2026-12-14T12:00:00Z');
    const watched = watchedExpiries(monday.toISOString(), undefined);

    it('counts back over the weekend: due on the Thursday, two business days ahead', () => {
      const unit = { amount: 2, unit: 'business_days' } as const;
      expect(expiryOutlook(monday, NOW, unit, calendar)).toMatchObject({
        warnFrom: new Date('2026-12-10T12:00:00Z'),
      });
      expect(dueChannelAlerts(watched, new Date('2026-12-10T12:00:00Z'), unit, calendar)).toHaveLength(1);
      expect(dueChannelAlerts(watched, new Date('2026-12-10T11:59:00Z'), unit, calendar)).toEqual([]);
    });

    it('while two calendar days ahead are not due until the Saturday', () => {
      const friday = new Date('2026-12-11T12:00:00Z');
      expect(dueChannelAlerts(watched, friday, { amount: 2, unit: 'calendar_days' }, calendar)).toEqual([]);
      expect(dueChannelAlerts(watched, friday, { amount: 2, unit: 'business_days' }, calendar)).toHaveLength(
        1,
      );
    });
  });
});

describe('expiryOutlook()', () => {
  it('says ok, soon, past as the date comes closer', () => {
    const states = [40, 10, 0, -1].map((d) => expiryOutlook(at(d), NOW, THIRTY_DAYS, calendar).state);
    expect(states).toEqual(['ok', 'soon', 'past', 'past']);
  });

  it('says none without a date', () => {
    expect(expiryOutlook(null, NOW, THIRTY_DAYS, calendar)).toEqual({ state: 'none' });
  });
});

describe('timeLeft()', () => {
  it('counts whole calendar days either way', () => {
    expect([10.5, 1, 0.2, -0.2, -3.5].map((d) => timeLeft(at(d), NOW))).toEqual([
      'in 10 days',
      'in 1 day',
      'in less than a day',
      'less than a day ago',
      '3 days ago',
    ]);
  });
});
