import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCalendar } from '../../../src/calendar/calendar.js';
import {
  checkSecurityTxt,
  checkStaffingReview,
  formatChecks,
  keyExpiryNote,
} from '../../../src/cli/doctor.js';
import { loadConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { fail, pass, warn } from '../../../src/core/check.js';
import { fixedClock } from '../../../src/core/clock.js';
import { checkTeamKeys } from '../../../src/pgp/keyring.js';
import { NOW } from '../../support/mail-fixtures.js';
import { REPO } from '../../support/stack.js';

const base = loadConfig({ env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'x' } });
const calendar = createCalendar(base.calendar);
const DAY = 86_400_000;
const inDays = (d: number): string => new Date(NOW.getTime() + d * DAY).toISOString();

const withExpires = (expires: string | undefined): Config => ({
  ...base,
  public_channel: { ...base.public_channel, ...(expires === undefined ? {} : { expires }) },
});
const withReview = (review_by: string | undefined): Config => ({
  ...base,
  staffing: { ...base.staffing, ...(review_by === undefined ? {} : { review_by }) },
});

describe('doctor: security.txt (#12)', () => {
  it('shows Expires and the days left when it is well ahead', () => {
    expect(checkSecurityTxt(withExpires(inDays(200)), NOW, calendar)).toEqual({
      name: 'security.txt',
      ok: true,
      detail: 'Expires 2027-06-19 12:00 UTC, in 200 days',
    });
  });

  it('warns, still ok, within watch_before: renew before the date', () => {
    const r = checkSecurityTxt(withExpires(inDays(10)), NOW, calendar);
    expect(r).toMatchObject({ ok: true, warning: true });
    expect(r.detail).toBe('Expires 2026-12-11 12:00 UTC, in 10 days: renew before 2026-12-11');
    expect(r.fix).toContain('psirt program');
  });

  it('fails once Expires passed', () => {
    const r = checkSecurityTxt(withExpires(inDays(-3)), NOW, calendar);
    expect(r.ok).toBe(false);
    expect(r.detail).toBe('Expires 2026-11-28 12:00 UTC passed 3 days ago');
  });

  it('warns when Expires is more than a year ahead (RFC 9116 §2.5.5)', () => {
    const r = checkSecurityTxt(withExpires(inDays(400)), NOW, calendar);
    expect(r).toMatchObject({ ok: true, warning: true });
    expect(r.detail).toContain('more than a year ahead');
  });

  it('warns naming public_channel.expires when it is unset', () => {
    const r = checkSecurityTxt(withExpires(undefined), NOW, calendar);
    expect(r).toMatchObject({ ok: true, warning: true });
    expect(r.detail).toContain('public_channel.expires is not set');
  });
});

describe('doctor: staffing review (#12, §4.2.2.2)', () => {
  it('shows the next review date when it is ahead', () => {
    expect(checkStaffingReview(withReview('2027-06-30'), NOW, calendar)).toEqual({
      name: 'staffing review',
      ok: true,
      detail: 'next review by 2027-06-30 (in 211 days)',
    });
  });

  it('counts the review day itself as not yet passed', () => {
    expect(checkStaffingReview(withReview('2026-12-01'), NOW, calendar).warning).toBeUndefined();
  });

  it('warns naming staffing.review_by once the date passed', () => {
    const r = checkStaffingReview(withReview('2026-11-20'), NOW, calendar);
    expect(r).toMatchObject({ ok: true, warning: true });
    expect(r.detail).toBe('staffing.review_by 2026-11-20 has passed (10 days ago)');
    expect(r.fix).toContain('staffing.review_by');
  });

  it('warns naming staffing.review_by when it is unset', () => {
    const r = checkStaffingReview(withReview(undefined), NOW, calendar);
    expect(r).toMatchObject({ ok: true, warning: true, detail: 'staffing.review_by is not set' });
  });
});

describe('doctor: team key expiry (#12)', () => {
  // The TEST ONLY team key was made on 2026-11-24 20:33 UTC and expires ten years later.
  const pgp = {
    ...base.pgp,
    keys: base.pgp.keys.map((k) => ({ ...k, file: join(REPO, 'test/fixtures/keys/team.sec.asc') })),
  };
  const at = async (iso: string) => {
    const now = new Date(iso);
    return (await checkTeamKeys(pgp, fixedClock(iso), keyExpiryNote(base, now, calendar)))[0]!;
  };

  it('shows the expiry date and the days left', async () => {
    const r = await at(NOW.toISOString());
    expect(r.ok).toBe(true);
    expect(r.warning).toBeUndefined();
    expect(r.detail).toMatch(/unlocked, expires 2036-11-21 \(in 3643 days\), signs outgoing mail$/);
  });

  it('warns within watch_before: renew before the date', async () => {
    const r = await at('2036-11-10T12:00:00Z');
    expect(r).toMatchObject({ ok: true, warning: true });
    expect(r.detail).toMatch(
      /expires 2036-11-21 \(in 11 days\), signs outgoing mail: renew before 2036-11-21$/,
    );
    expect(r.fix).toContain('gpg --quick-set-expire');
  });
});

describe('formatChecks()', () => {
  it('marks passes ✓, warnings ! and failures ✗, with the fix of the last two', () => {
    const text = formatChecks([
      pass('config', 'valid'),
      warn('staffing review', 'staffing.review_by is not set', 'set staffing.review_by'),
      fail('imap', 'login failed', 'check imap.user'),
    ]);
    expect(text.split('\n')).toEqual([
      '✓ config           valid',
      '! staffing review  staffing.review_by is not set',
      '                   fix: set staffing.review_by',
      '✗ imap             login failed',
      '                   fix: check imap.user',
    ]);
  });
});
