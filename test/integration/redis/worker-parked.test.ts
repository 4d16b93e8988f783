import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { startWorker, type RunningWorker } from '../../../src/jobs/worker.js';
import { eventually } from '../../support/eventually.js';

/**
 * A worker whose blocking connection is left "parked" — ioredis status `reconnecting` with its
 * retry timer cleared, so it never reconnects — as BullMQ 6.7 leaves it when it disconnects that
 * connection during a reconnect (bullmq#4585/#4656; seen in the metrics e2e after a Redis
 * restart: the escalation worker ran no sweep again and `psirt start` never stopped). The park is
 * made by hand here, on a real connection, in the exact state ioredis is then in.
 */

const stack = inject('stack');
/** What the worker logged, one JSON line each (the events are read, never the wording). */
const logged: string[] = [];
const log = pino({ level: 'info' }, { write: (line: string) => logged.push(line) });

/** Puts a connected ioredis client in the parked state: socket gone, no reconnect scheduled. */
async function park(client: Redis): Promise<void> {
  const reconnecting = new Promise<void>((resolve) => client.once('reconnecting', () => resolve()));
  // The socket drops (as when Redis restarts); ioredis schedules a reconnect…
  (client as unknown as { stream: { destroy(): void } }).stream.destroy();
  await reconnecting;
  // …and a disconnect() while it waits clears that timer without ending the client.
  client.disconnect();
  expect(client.status).toBe('reconnecting');
}

describe('a BullMQ worker whose blocking Redis connection is parked (real Redis)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    vi.restoreAllMocks();
  });

  /** A producer's queue on `prefix`, emptied and closed after the test. */
  function queueFor(prefix: string): Queue {
    const producer = new Redis(stack.redisUrl, { maxRetriesPerRequest: 1 });
    producer.on('error', () => undefined);
    const queue = new Queue('mailer', { connection: producer, prefix });
    cleanups.push(async () => {
      await queue.obliterate({ force: true });
      await queue.close();
      producer.disconnect();
    });
    return queue;
  }

  async function started(): Promise<{
    worker: RunningWorker;
    queue: Queue;
    blocking: () => Redis;
    seen: number[];
  }> {
    const cfg = { url: stack.redisUrl, prefix: `test-${randomUUID()}` };
    // The connections BullMQ duplicates from ours: the worker's blocking one among them.
    const duplicates = vi.spyOn(Redis.prototype, 'duplicate');
    const seen: number[] = [];
    const worker = startWorker<{ n: number }>(cfg, log, {
      queue: 'mailer',
      role: 'test',
      concurrency: 1,
      lockDuration: 30_000,
      process: (data) => {
        seen.push(data.n);
        return Promise.resolve();
      },
    });
    // Closing twice is harmless (BullMQ keeps its first close): also when a test failed half-way.
    cleanups.push(() => worker.close().catch(() => undefined));
    const queue = queueFor(cfg.prefix);
    await queue.add('x', { n: 1 });
    await eventually(() => (seen.length === 1 ? true : undefined), { what: 'the first job' });
    const blocking = (): Redis => {
      const ready = duplicates.mock.results.map((r) => r.value as Redis).filter((d) => d.status === 'ready');
      expect(ready).toHaveLength(1);
      return ready[0] as Redis;
    };
    return { worker, queue, blocking, seen };
  }

  it('is reconnected: jobs added after the park are processed, and close() resolves', async () => {
    const { worker, queue, blocking, seen } = await started();
    const parked = blocking();
    await park(parked);
    await queue.add('x', { n: 2 });
    await eventually(() => (seen.includes(2) ? true : undefined), {
      timeoutMs: 25_000,
      what: 'a job processed after the blocking connection parked',
    });
    expect(parked.status).toBe('ready');
    await expect(worker.close()).resolves.toBeUndefined();
  }, 40_000);

  it('still closes when it parks just before close()', async () => {
    const { worker, blocking } = await started();
    await park(blocking());
    logged.length = 0;
    await expect(worker.close()).resolves.toBeUndefined();
    // BullMQ let go by itself once the watch connected it again: without the watch its close
    // never ends, and ours cuts it off after 5 s saying so (worker-disconnected).
    expect(logged.join('')).toContain('"event":"test.redis-parked"');
    expect(logged.join('')).not.toContain('worker-disconnected');
  }, 40_000);

  it('rejects naming its role when a job outlasts the close deadline, and lets go of Redis', async () => {
    const cfg = { url: stack.redisUrl, prefix: `test-${randomUUID()}` };
    let release: () => void = () => undefined;
    let begun = false;
    const worker = startWorker(
      cfg,
      log,
      {
        queue: 'mailer',
        role: 'mailer',
        concurrency: 1,
        lockDuration: 30_000,
        process: () => {
          begun = true;
          return new Promise<void>((r) => (release = r));
        },
      },
      500,
    );
    const queue = queueFor(cfg.prefix);
    cleanups.push(() => {
      release();
      return Promise.resolve();
    });
    await queue.add('x', {});
    await eventually(() => (begun ? true : undefined), { what: 'the job to start' });
    expect((await queue.getWorkers()).length).toBeGreaterThan(0);
    await expect(worker.close()).rejects.toThrow('the mailer worker did not close within 0.5 s');
    // Its connections are let go: the job's worker no longer shows in Redis.
    await eventually(async () => ((await queue.getWorkers()).length === 0 ? true : undefined), {
      what: 'the worker gone from Redis',
    });
  });

  it('waits for every running job, past one that fails and for one longer than BullMQ gets', async () => {
    const cfg = { url: stack.redisUrl, prefix: `test-${randomUUID()}` };
    const done: string[] = [];
    let begun = 0;
    const worker = startWorker<{ ms: number; fail: boolean }>(cfg, log, {
      queue: 'mailer',
      role: 'test',
      concurrency: 2,
      lockDuration: 30_000,
      process: async ({ ms, fail }) => {
        begun += 1;
        await new Promise((r) => setTimeout(r, ms));
        done.push(fail ? 'failed' : 'finished');
        if (fail) throw new Error('relay said 451');
      },
    });
    cleanups.push(() => worker.close().catch(() => undefined));
    const queue = queueFor(cfg.prefix);
    // One fails after 1 s; the other runs 7 s: past the failure and BullMQ's 5 s after it.
    await queue.addBulk([
      { name: 'x', data: { ms: 1_000, fail: true } },
      { name: 'x', data: { ms: 7_000, fail: false } },
    ]);
    await eventually(() => (begun === 2 ? true : undefined), { what: 'both jobs to start' });
    logged.length = 0;
    await worker.close();
    expect(done).toEqual(['failed', 'finished']);
    expect(logged.join('')).not.toContain('worker-disconnected');
    expect(logged.join('')).not.toContain('worker-close-timeout');
  });
});
