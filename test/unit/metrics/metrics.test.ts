import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/core/clock.js';
import type { OperationalSnapshot } from '../../../src/7-cases/metrics-store.js';
import { createMetrics, word } from '../../../src/metrics/metrics.js';
import { bearerMatches } from '../../../src/metrics/server.js';
import { REPO } from '../../support/stack.js';

const clock = fixedClock('2026-11-24T12:00:00Z');
const log = pino({ level: 'silent' });

function snapshot(over: Partial<OperationalSnapshot> = {}): OperationalSnapshot {
  return {
    casesByStage: [
      { stage: 'triage', n: 3 },
      { stage: 'closed', n: 7 },
    ],
    openCasesByFlag: [{ flag: 'undecryptable', n: 1 }],
    deadlines: [{ kind: 'verify', state: 'open', n: 4, missed: 1 }],
    outboxTotals: [{ kind: 'acknowledgment', n: 10 }],
    outboxUnsent: [{ kind: 'acknowledgment', state: 'pending', n: 3 }],
    messagesPending: 5,
    heartbeats: [{ role: 'mailer', beatAt: '2026-11-24T11:59:30Z' }],
    openAlarms: ['relay-down'],
    marks: [{ name: 'intake.synced', at: '2026-11-24T11:58:00Z' }],
    ...over,
  };
}

const metricsWith = (
  snap: () => OperationalSnapshot,
  depths = () => Promise.resolve([]),
  problems = [{ kind: 'acknowledgment', state: 'failed', n: 2 }],
) => createMetrics({ clock, log, version: '0.1.0', snapshot: snap, depths, outboxProblems: () => problems });

describe('createMetrics()', () => {
  it('exposes the SQLite snapshot as gauges by stage, deadline, kind, role and alarm', async () => {
    const text = await metricsWith(() => snapshot()).scrape();
    expect(text).toContain('psirt_cases{stage="triage"} 3');
    expect(text).toContain('psirt_cases{stage="fixing"} 0');
    expect(text).toContain('psirt_deadlines_missed{deadline="verify"} 1');
    expect(text).toContain('psirt_outbox{kind="acknowledgment",state="failed"} 2');
    expect(text).toContain('psirt_outbox{kind="acknowledgment",state="pending"} 3');
    expect(text).toContain('psirt_outbox{kind="acknowledgment",state="sent"} 5');
    expect(text).toContain('psirt_role_heartbeat_age_seconds{role="mailer"} 30');
    expect(text).toContain('psirt_alarm_active{alarm="relay-down"} 1');
    expect(text).toContain('psirt_alarm_active{alarm="mail-roundtrip"} 0');
    expect(text).toContain('psirt_progress_timestamp_seconds{mark="intake.synced"} 1795521480');
    expect(text).toContain('psirt_messages_pending 5');
  });

  it('still answers when Redis fails, with psirt_redis_up 0 and no queue series', async () => {
    const text = await metricsWith(
      () => snapshot(),
      () => Promise.reject(new Error('ECONNREFUSED')),
    ).scrape();
    expect(text).toContain('psirt_redis_up 0');
    expect(text).not.toMatch(/^psirt_queue_jobs\{/m);
  });

  it('still answers when SQLite fails, with psirt_sqlite_up 0', async () => {
    const text = await metricsWith(() => {
      throw new Error('SQLITE_BUSY');
    }).scrape();
    expect(text).toContain('psirt_sqlite_up 0');
  });

  it('puts no stored free text into a label: a damaged value becomes "other" (invariant 6)', async () => {
    const text = await metricsWith(
      () => snapshot({ outboxTotals: [{ kind: 'Re: [SEC-1] alice@example.org', n: 1 }], outboxUnsent: [] }),
      () => Promise.resolve([]),
      [],
    ).scrape();
    expect(text).not.toContain('alice@example.org');
    expect(text).toContain('psirt_outbox{kind="other",state="sent"} 1');
  });

  it('counts what the intake reports, from 0 for each kind', async () => {
    const m = metricsWith(() => snapshot());
    m.intake.classified('follow-up');
    m.intake.decodeFailed('corrupt');
    m.acknowledged(12);
    const text = await m.scrape();
    expect(text).toContain('psirt_mail_classified_total{kind="follow-up"} 1');
    expect(text).toContain('psirt_mail_classified_total{kind="new-report"} 0');
    expect(text).toContain('psirt_decode_failures_total{reason="corrupt"} 1');
    expect(text).toContain('psirt_acknowledgment_latency_seconds_bucket{le="20"} 1');
    expect(text).toContain('psirt_acknowledgment_latency_seconds_bucket{le="10"} 0');
  });
});

describe('word()', () => {
  it('keeps vocabulary words and replaces anything else', () => {
    expect(word('staff-notification')).toBe('staff-notification');
    expect(word('intake.synced')).toBe('intake.synced');
    expect(word('a b')).toBe('other');
    expect(word('x@y')).toBe('other');
    expect(word('SEC-2026-0001')).toBe('other');
  });
});

describe('bearerMatches()', () => {
  const token = 'a-token-of-sufficient-length';
  it('accepts exactly the configured token', () => {
    expect(bearerMatches(`Bearer ${token}`, token)).toBe(true);
    expect(bearerMatches(`bearer ${token}`, token)).toBe(true);
  });
  it('refuses a missing, different, longer or shorter token, and other schemes', () => {
    expect(bearerMatches(undefined, token)).toBe(false);
    expect(bearerMatches('Bearer ', token)).toBe(false);
    expect(bearerMatches(`Bearer ${token}x`, token)).toBe(false);
    expect(bearerMatches(`Bearer ${token.slice(1)}`, token)).toBe(false);
    expect(bearerMatches(`Basic ${token}`, token)).toBe(false);
  });
});

describe('docs/monitoring/grafana-dashboard.json', () => {
  it('parses, and every PromQL expression names only metrics the service exposes', async () => {
    const dash = JSON.parse(readFileSync(join(REPO, 'docs/monitoring/grafana-dashboard.json'), 'utf8')) as {
      panels: { targets: { expr: string }[] }[];
      templating: { list: { query?: unknown }[] };
    };
    const m = metricsWith(() => snapshot());
    await m.scrape();
    const exposed = new Set<string>();
    for (const metric of await m.registry.getMetricsAsJSON()) {
      exposed.add(metric.name);
      if (String(metric.type) === 'histogram')
        for (const s of ['_bucket', '_sum', '_count']) exposed.add(`${metric.name}${s}`);
    }
    const exprs = [
      ...dash.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...dash.templating.list.map((t) => t.query).filter((q): q is string => typeof q === 'string'),
    ];
    expect(exprs.length).toBeGreaterThan(10);
    const named = new Set(exprs.flatMap((e) => e.match(/\b(psirt|process|nodejs)_[a-z_]+/g) ?? []));
    const unknown = [...named].filter((n) => !exposed.has(n));
    expect(unknown).toEqual([]);
  });
});
