import { describe, expect, it } from 'vitest';
import { createCalendar } from '../../../src/calendar/calendar.js';
import { loadConfig } from '../../../src/config/load.js';
import { deriveDeadlines, policyOf, type CaseFacts } from '../../../src/policy/deadlines.js';
import { judgeStage } from '../../../src/evidence/analyse.js';
import { expertsFor, outsideExpertiseNeed, planLadder } from '../../../src/policy/escalation.js';

const config = loadConfig({ env: { PSIRT_IMAP__PASSWORD: 'x', PSIRT_ENV: 'test' } });
/** The shipped defaults (no profile), with the one staff member they need. */
const defaults = loadConfig({ env: { PSIRT_IMAP__PASSWORD: 'x', PSIRT_ENV: 'test' } });
Object.assign(defaults, {
  calendar: {
    ...defaults.calendar,
    time_zone: 'Europe/Berlin',
    working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  },
  deadlines: {
    ...defaults.deadlines,
    triage: { amount: 3, unit: 'business_days' },
    verify: { amount: 7, unit: 'business_days' },
  },
  escalation: {
    ...defaults.escalation,
    ladder: [
      { to: 'assignee', before: { amount: 1, unit: 'business_days' } },
      { to: 'oncall', after: { amount: 0, unit: 'minutes' } },
      { to: 'accountable', after: { amount: 2, unit: 'business_days' } },
    ],
  },
});
const berlin = createCalendar(defaults.calendar);
const T0 = new Date('2026-11-24T10:00:00+01:00'); // Tuesday
const facts = (over: Partial<CaseFacts> = {}): CaseFacts => ({
  createdAt: T0,
  reopenedAt: null,
  closedAt: null,
  severity: null,
  fixBy: null,
  discloseOn: null,
  triagedAt: null,
  verifiedAt: null,
  fixedAt: null,
  publishedAt: null,
  pauses: [],
  ...over,
});
const byKind = (f: CaseFacts, now = T0) =>
  Object.fromEntries(deriveDeadlines(f, defaults.deadlines, berlin, now).map((d) => [d.kind, d]));

describe('deriveDeadlines() with the default policy (3/7 business days, fix 7/30/60/90 days)', () => {
  it('gives triage and verify from the report, in business days', () => {
    const d = byKind(facts());
    expect(d.triage?.dueAt.toISOString()).toBe(new Date('2026-11-27T10:00:00+01:00').toISOString());
    expect(d.verify?.dueAt.toISOString()).toBe(new Date('2026-12-03T10:00:00+01:00').toISOString());
    expect(d.fix).toBeUndefined();
  });

  it('moves an unmet deadline out by the time the case waited on the reporter', () => {
    const pause = { from: new Date('2026-11-25T10:00:00+01:00'), to: new Date('2026-11-26T16:00:00+01:00') };
    const d = byKind(facts({ pauses: [pause] }));
    expect(d.triage?.dueAt.toISOString()).toBe(new Date('2026-11-28T16:00:00+01:00').toISOString());
    expect(d.triage?.state).toBe('open');
  });

  it('marks deadlines paused while the pause lasts', () => {
    const d = byKind(
      facts({ pauses: [{ from: new Date('2026-11-25T10:00:00+01:00'), to: null }] }),
      new Date('2026-11-26T10:00:00+01:00'),
    );
    expect(d.triage?.state).toBe('paused');
  });

  it('holds a deadline already missed while a pause runs (its ladder waits), without moving it', () => {
    const d = byKind(
      facts({ pauses: [{ from: new Date('2026-11-28T10:00:00+01:00'), to: null }] }),
      new Date('2026-11-30T10:00:00+01:00'),
    );
    expect(d.triage).toMatchObject({ state: 'paused', dueAt: new Date('2026-11-27T10:00:00+01:00') });
  });

  it('ignores pauses after a deadline was met, and cancels what is open on close', () => {
    const met = byKind(facts({ triagedAt: new Date('2026-11-24T12:00:00+01:00') }));
    expect(met.triage).toMatchObject({ state: 'met' });
    const closed = byKind(facts({ closedAt: new Date('2026-11-25T10:00:00+01:00') }));
    expect(closed.verify?.state).toBe('cancelled');
  });

  it('keeps the pause in a met deadline: verified late only because of a pause is met (reviewer M1)', () => {
    // Mon 2 Nov 2026 received; waiting on the reporter Tue 3 → Tue 10 Nov; /verified Fri 13 Nov.
    const received = new Date('2026-11-02T09:00:00Z');
    const f = facts({
      createdAt: received,
      triagedAt: received,
      verifiedAt: new Date('2026-11-13T09:00:00Z'),
      pauses: [{ from: new Date('2026-11-03T09:00:00Z'), to: new Date('2026-11-10T09:00:00Z') }],
    });
    const d = byKind(f, new Date('2026-11-13T09:00:00Z'));
    expect(d.verify).toMatchObject({ state: 'met', dueAt: new Date('2026-11-18T09:00:00Z') });
    const stored = {
      case_id: 'SEC-2026-0001',
      kind: 'verify',
      due_at: d.verify?.dueAt.toISOString() ?? '',
      met_at: d.verify?.metAt?.toISOString() ?? null,
      state: d.verify?.state ?? '',
      policy: 'p',
      calendar: berlin.id,
    };
    const c = { created_at: received.toISOString(), reopened_at: null, fixed_at: null, closed_at: null };
    expect(judgeStage('verify', stored, c, berlin, new Date('2026-12-01T12:00:00Z')).verdict).toBe('met');
  });

  it('counts a pause still running when a deadline was met up to then, and none begun after it', () => {
    const received = new Date('2026-11-02T09:00:00Z');
    const running = byKind(
      facts({
        createdAt: received,
        verifiedAt: new Date('2026-11-13T09:00:00Z'),
        pauses: [{ from: new Date('2026-11-10T09:00:00Z'), to: null }],
      }),
      new Date('2026-11-20T09:00:00Z'),
    );
    // Due 11 Nov 09:00, moved out by the 3 days the pause had run when /verified came (13 Nov).
    expect(running.verify).toMatchObject({ state: 'met', dueAt: new Date('2026-11-14T09:00:00Z') });
    const after = byKind(
      facts({
        createdAt: received,
        verifiedAt: new Date('2026-11-05T09:00:00Z'),
        pauses: [{ from: new Date('2026-11-06T09:00:00Z'), to: new Date('2026-11-09T09:00:00Z') }],
      }),
      new Date('2026-11-20T09:00:00Z'),
    );
    expect(after.verify).toMatchObject({ state: 'met', dueAt: new Date('2026-11-11T09:00:00Z') });
  });

  it('records a different policy id when the ladder changes', () => {
    const other = {
      ...defaults,
      escalation: { ...defaults.escalation, ladder: defaults.escalation.ladder.slice(1) },
    };
    expect(policyOf(other)).not.toBe(policyOf(defaults));
  });
});

describe('planLadder()', () => {
  it('reminds one business day before, tells on-call at the deadline, the accountable role two business days after', () => {
    const due = new Date('2026-11-30T10:00:00+01:00'); // Monday
    expect(
      planLadder(due, defaults.escalation.ladder, berlin).map((s) => [s.to, s.fireAt.toISOString()]),
    ).toEqual([
      ['assignee', new Date('2026-11-27T10:00:00+01:00').toISOString()], // the Friday before
      ['oncall', due.toISOString()],
      ['accountable', new Date('2026-12-02T10:00:00+01:00').toISOString()],
    ]);
  });
});

describe('outside expertise (ISO/IEC 18974 §4.2.2.3)', () => {
  const cfg = config.escalation.outside_expertise;
  it('is needed for a configured tag, naming the matching experts', () => {
    const need = outsideExpertiseNeed({ tags: ['cryptography'], createdAt: T0, fixDue: null }, cfg);
    expect(need).toEqual({ tags: ['cryptography'], fixDays: null });
    expect(expertsFor(need!, cfg.experts).map((e) => e.name)).toEqual(['Test Crypto Review']);
  });

  it('is needed when the fix date is 45 days out (limit 30), naming every expert', () => {
    const need = outsideExpertiseNeed(
      { tags: [], createdAt: T0, fixDue: new Date(T0.getTime() + 45 * 86_400_000) },
      cfg,
    );
    expect(need).toEqual({ tags: [], fixDays: 45 });
    expect(expertsFor(need!, cfg.experts)).toHaveLength(2);
  });

  it('is not needed for an untagged case fixed within the limit', () => {
    expect(
      outsideExpertiseNeed(
        { tags: ['web'], createdAt: T0, fixDue: new Date(T0.getTime() + 7 * 86_400_000) },
        cfg,
      ),
    ).toBeNull();
  });
});
