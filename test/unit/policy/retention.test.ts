import { describe, expect, it } from 'vitest';
import { createCalendar } from '../../../src/calendar/calendar.js';
import {
  addYears,
  candidateBound,
  localDateOf,
  planRetention,
  retentionVerdict,
  type RetentionCandidate,
} from '../../../src/policy/retention.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const utc = createCalendar({
  time_zone: 'UTC',
  working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  partial_day_holidays_closed: false,
  closed_days: [],
});
const berlin = createCalendar({
  time_zone: 'Europe/Berlin',
  working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  holiday_country: 'DE',
  partial_day_holidays_closed: true,
  closed_days: [],
});
const closed = (closedAt: string, onHold = false, id = 'SEC-1'): RetentionCandidate => ({
  id,
  closedAt,
  resolution: 'fixed',
  onHold,
});

describe('retentionVerdict() (#13 records retention)', () => {
  it('purges a case closed 3 years + 1 day ago', () => {
    const v = retentionVerdict(closed('2023-11-30T12:00:00Z'), NOW, 3, utc);
    expect(v).toMatchObject({ keepUntil: '2026-11-30', due: true, held: false });
  });

  it('keeps a case closed 3 years − 1 day ago', () => {
    const v = retentionVerdict(closed('2023-12-02T12:00:00Z'), NOW, 3, utc);
    expect(v).toMatchObject({ keepUntil: '2026-12-02', due: false });
    expect(v.purgeFrom.toISOString()).toBe('2026-12-03T00:00:00.000Z');
  });

  it('keeps a case on its anniversary day: purged only once the date is after it', () => {
    expect(retentionVerdict(closed('2023-12-01T00:00:01Z'), NOW, 3, utc).due).toBe(false);
    expect(
      retentionVerdict(closed('2023-12-01T00:00:01Z'), new Date('2026-12-02T00:00:00Z'), 3, utc).due,
    ).toBe(true);
  });

  it('keeps a case on hold however old, and says the hold keeps it', () => {
    const v = retentionVerdict(closed('2019-01-01T12:00:00Z', true), NOW, 3, utc);
    expect(v).toMatchObject({ due: false, held: true });
  });

  it('counts the policy years: 5 years keeps what 3 years would purge', () => {
    expect(retentionVerdict(closed('2023-06-01T12:00:00Z'), NOW, 5, utc).due).toBe(false);
    expect(retentionVerdict(closed('2023-06-01T12:00:00Z'), NOW, 3, utc).due).toBe(true);
  });

  describe('when the closure is late in the evening in the calendar zone', () => {
    // 23:30 in Berlin on 30 Nov 2023 is 22:30 UTC the same day; 00:30 on 1 Dec is 23:30 UTC on 30 Nov.
    it('counts from the local date, not the UTC date', () => {
      const lateLocal = closed('2023-11-30T23:30:00Z'); // 00:30 on 1 Dec in Berlin
      expect(localDateOf(new Date(lateLocal.closedAt), 'Europe/Berlin')).toBe('2023-12-01');
      const v = retentionVerdict(lateLocal, new Date('2026-12-01T22:00:00Z'), 3, berlin); // 23:00 local
      expect(v).toMatchObject({ closedOn: '2023-12-01', keepUntil: '2026-12-01', due: false });
      // In UTC the same instants fall on 30 Nov 2023 and 1 Dec 2026: due there.
      expect(retentionVerdict(lateLocal, new Date('2026-12-01T22:00:00Z'), 3, utc).due).toBe(true);
    });

    it('purges from local midnight after the anniversary (23:00 UTC in winter Berlin)', () => {
      const c = closed('2023-11-30T22:30:00Z'); // 23:30 on 30 Nov in Berlin
      const v = retentionVerdict(c, NOW, 3, berlin);
      expect(v.keepUntil).toBe('2026-11-30');
      expect(v.purgeFrom.toISOString()).toBe('2026-11-30T23:00:00.000Z');
      expect(retentionVerdict(c, new Date('2026-11-30T22:59:59Z'), 3, berlin).due).toBe(false);
      expect(retentionVerdict(c, new Date('2026-11-30T23:00:00Z'), 3, berlin).due).toBe(true);
    });
  });

  describe('when the closure was on 29 February', () => {
    it('keeps the case until after 1 March of an anniversary year without 29 February', () => {
      expect(addYears('2024-02-29', 3)).toBe('2027-03-01');
      const c = closed('2024-02-29T12:00:00Z');
      expect(retentionVerdict(c, new Date('2027-03-01T23:59:59Z'), 3, utc).due).toBe(false);
      expect(retentionVerdict(c, new Date('2027-03-02T00:00:00Z'), 3, utc).due).toBe(true);
    });

    it('keeps it until after 29 February when the anniversary year has one', () => {
      expect(addYears('2024-02-29', 4)).toBe('2028-02-29');
      const c = closed('2024-02-29T12:00:00Z');
      expect(retentionVerdict(c, new Date('2028-02-29T23:59:59Z'), 4, utc).due).toBe(false);
      expect(retentionVerdict(c, new Date('2028-03-01T00:00:00Z'), 4, utc).due).toBe(true);
    });
  });

  describe('when the anniversary falls on a weekend or a public holiday', () => {
    it('purges the day after it all the same: business days play no part', () => {
      // 25 Dec 2026 (Christmas, a Friday, closed in DE) and 26–27 Dec (holiday, weekend).
      const c = closed('2023-12-25T10:00:00Z');
      expect(berlin.isBusinessDay(new Date('2026-12-26T10:00:00Z'))).toBe(false);
      const v = retentionVerdict(c, new Date('2026-12-26T10:00:00Z'), 3, berlin);
      expect(v).toMatchObject({ keepUntil: '2026-12-25', due: true });
      expect(retentionVerdict(c, new Date('2026-12-25T10:00:00Z'), 3, berlin).due).toBe(false);
    });
  });
});

describe('planRetention()', () => {
  it('lists the due cases oldest closure first and the held ones apart; an open case is never a candidate', () => {
    const plan = planRetention(
      [
        closed('2023-01-02T12:00:00Z', false, 'SEC-B'),
        closed('2022-05-02T12:00:00Z', false, 'SEC-A'),
        closed('2022-01-02T12:00:00Z', true, 'SEC-H'),
        closed('2024-01-02T12:00:00Z', false, 'SEC-KEPT'),
      ],
      NOW,
      3,
      utc,
    );
    expect(plan.due.map((v) => v.id)).toEqual(['SEC-A', 'SEC-B']);
    expect(plan.held.map((v) => v.id)).toEqual(['SEC-H']);
  });
});

describe('candidateBound()', () => {
  it('is never earlier than the closure of a case that is due (any zone, leap day)', () => {
    for (const zone of ['Pacific/Kiritimati', 'Pacific/Pago_Pago', 'UTC']) {
      const cal = { zone, startOfDay: (d: string) => new Date(`${d}T00:00:00Z`) };
      for (let h = -60; h <= 60; h += 1) {
        const closedAt = new Date(NOW.getTime() - 3 * 365.25 * 86_400_000 + h * 3_600_000).toISOString();
        const v = retentionVerdict(closed(closedAt), NOW, 3, cal);
        if (v.due) expect(closedAt <= candidateBound(NOW, 3).toISOString()).toBe(true);
      }
    }
  });
});
