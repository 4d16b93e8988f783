import { Vault } from '../../../src/core/vault.js';
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Db } from '../../../src/7-cases/db.js';
import { appendEvent } from '../../../src/7-cases/events.js';
import type { Config } from '../../../src/config/schema.js';
import { fixedClock } from '../../../src/core/clock.js';
import { createLogger } from '../../../src/core/log.js';
import { QUEUES, RETENTION_SCHEDULER } from '../../../src/jobs/queues.js';
import { ReportCache } from '../../../src/8-outbox/report-view.js';
import { startRetention } from '../../../src/roles/retention.js';
import type { RunningRole } from '../../../src/roles/role.js';
import { buildDecoded, buildSignedStaffMail } from '../../support/builders.js';
import { migratedDb, tempDbPath } from '../../support/db.js';
import { eventually } from '../../support/eventually.js';
import { ingestHarness } from '../../support/ingest.js';

const stack = inject('stack');
const NOW = new Date('2026-12-01T12:00:00Z');
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** One case closed 3 years + 1 day before NOW, on a fresh file and a fresh BullMQ prefix. */
function seeded() {
  const h = ingestHarness({ at: '2023-11-01T10:00:00Z' });
  const path = tempDbPath();
  const db = migratedDb(h.clock, path);
  const caseId = h.ingest(db, buildDecoded({ messageId: 'old@reporter.test' })).result.caseId!;
  h.clock.set('2023-11-30T12:00:00Z');
  const alice = h.config.staff.find((s) => s.address === 'alice@psirt.test')!;
  h.ingest(
    db,
    buildSignedStaffMail(
      alice,
      `Re: [${caseId}] /close invalid`,
      { text: 'x' },
      {
        messageId: 'close@psirt.test',
        signedAt: h.clock.now().toISOString(),
        digest: '1'.repeat(64),
      },
    ),
  );
  const config: Config = {
    ...h.config,
    database: { path },
    redis: { url: stack.redisUrl, prefix: `test-${randomUUID()}` },
    retention: { years: 3, run_at: '04:15' },
    calendar: { ...h.config.calendar, time_zone: 'Europe/Berlin' },
  };
  return { h, db, config, caseId };
}

function start(s: ReturnType<typeof seeded>): RunningRole {
  const role = startRetention({
    config: s.config,
    db: s.db,
    clock: fixedClock(NOW),
    log: createLogger('silent'),
    teamKeys: [],
    staffKeys: new Map(),
    calendar: s.h.calendar,
    caseIdFormat: s.h.caseIdFormat,
    reports: new ReportCache(),
    // The retention role reads no content: a vault that holds no key.
    vault: new Vault(null),
  });
  cleanups.push(async () => {
    await role.stop();
    const redis = new Redis(stack.redisUrl);
    const keys = await redis.keys(`${s.config.redis.prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  return role;
}

const purgedAt = (db: Db, id: string) =>
  (db.prepare('SELECT purged_at FROM cases WHERE id = ?').get(id) as { purged_at: string | null }).purged_at;

async function scheduler(config: Config) {
  const queue = new Queue(QUEUES.retention, {
    connection: { url: stack.redisUrl },
    prefix: config.redis.prefix,
  });
  try {
    return await queue.getJobScheduler(RETENTION_SCHEDULER);
  } finally {
    await queue.close();
  }
}

describe('the retention role (#13)', () => {
  it('makes up a run at start when none was recorded, and schedules the daily run at run_at in the calendar zone', async () => {
    const s = seeded();
    start(s);
    await eventually(() => purgedAt(s.db, s.caseId) ?? undefined, { what: 'the catch-up purge' });
    const job = await eventually(async () => (await scheduler(s.config)) ?? undefined, {
      what: 'the scheduler',
    });
    expect(job).toMatchObject({ pattern: '15 4 * * *', tz: 'Europe/Berlin' });
  });

  describe('when a run was recorded less than a day ago', () => {
    it('does not run at start, and purges when the scheduled job comes', async () => {
      const s = seeded();
      s.db
        .transaction(() =>
          appendEvent(s.db, fixedClock(new Date(NOW.getTime() - 3_600_000)), {
            caseId: null,
            type: 'retention.ran',
            actor: 'system',
          }),
        )
        .immediate();
      start(s);
      // The tick checks for a missed run before it upserts the scheduler: once that exists, it decided.
      await eventually(async () => (await scheduler(s.config)) ?? undefined, { what: 'the scheduler' });
      expect(purgedAt(s.db, s.caseId)).toBeNull();
      // The job the scheduler adds at 04:15, added now.
      const queue = new Queue(QUEUES.retention, {
        connection: { url: stack.redisUrl },
        prefix: s.config.redis.prefix,
      });
      await queue.add('purge', {}, { removeOnComplete: true });
      await queue.close();
      await eventually(() => purgedAt(s.db, s.caseId) ?? undefined, { what: 'the scheduled purge' });
    });
  });
});
