import { describe, expect, it } from 'vitest';
import { scoreCvss, severityOf } from '../../../src/6-commands/cvss.js';

describe('scoreCvss()', () => {
  it('scores the issue example 9.8, critical', () => {
    expect(scoreCvss('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toMatchObject({
      ok: true,
      version: '3.1',
      score: 9.8,
      severity: 'critical',
    });
  });

  it('scores a CVSS 4.0 vector', () => {
    expect(scoreCvss('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N')).toMatchObject({
      ok: true,
      version: '4.0',
      score: 9.3,
      severity: 'critical',
    });
  });

  it('scores a medium 3.1 vector', () => {
    expect(scoreCvss('CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:U/C:L/I:L/A:N')).toMatchObject({
      ok: true,
      severity: 'medium',
    });
  });

  it.each([
    ['CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', /only CVSS:3.1/],
    ['CVSS:3.1/AV:N/AC:L', /every base metric/],
    ['CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', /./],
  ])('refuses %s', (vector, why) => {
    const r = scoreCvss(vector);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(why);
  });
});

describe('severityOf()', () => {
  it.each([
    [0, 'none'],
    [0.1, 'low'],
    [3.9, 'low'],
    [4, 'medium'],
    [6.9, 'medium'],
    [7, 'high'],
    [8.9, 'high'],
    [9, 'critical'],
    [10, 'critical'],
  ] as const)('%s is %s', (score, severity) => {
    expect(severityOf(score)).toBe(severity);
  });
});
