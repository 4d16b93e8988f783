import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createMailerQueue, QUEUES } from '../../../src/jobs/queues.js';
import { checkRedis } from '../../../src/jobs/redis.js';
import { eventually } from '../../support/eventually.js';

const stack = inject('stack');

describe('BullMQ on the local stack Redis', () => {
  const prefix = `test-${randomUUID()}`;
  const closers: (() => Promise<unknown>)[] = [];

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  it('enqueues a job and a worker dequeues it with its data', async () => {
    const connection = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
    connection.on('error', () => undefined);
    closers.push(() => connection.quit());
    const queue = new Queue('roundtrip', { connection, prefix });
    closers.push(async () => {
      await queue.obliterate({ force: true });
      await queue.close();
    });
    const events = new QueueEvents('roundtrip', { connection: { url: stack.redisUrl }, prefix });
    closers.push(() => events.close());
    await events.waitUntilReady();

    const seen: unknown[] = [];
    const worker = new Worker(
      'roundtrip',
      (job) => {
        seen.push(job.data);
        return Promise.resolve({ echoed: (job.data as { n: number }).n * 2 });
      },
      { connection: new Redis(stack.redisUrl, { maxRetriesPerRequest: null }), prefix },
    );
    closers.push(() => worker.close());

    const job = await queue.add('echo', { n: 21 }, { jobId: 'job-roundtrip-1' });
    const result = await job.waitUntilFinished(events, 10_000);
    expect(result).toEqual({ echoed: 42 });
    expect(seen).toEqual([{ n: 21 }]);
  });

  it('sends acknowledgments before background mail: a worker takes unmarked jobs first', async () => {
    const cfg = { url: stack.redisUrl, prefix: `test-${randomUUID()}` };
    const mailer = createMailerQueue(cfg);
    closers.push(async () => {
      await mailer.queue.obliterate({ force: true });
      await mailer.close();
    });
    // Report 1 yields outbox rows 1 (ack), 2–4 (staff notifications); report 2 rows 5–8.
    await mailer.enqueue([1, 2, 3, 4], { background: [2, 3, 4] });
    await mailer.enqueue([5, 6, 7, 8], { background: [6, 7, 8] });
    const order: number[] = [];
    const worker = new Worker(
      QUEUES.mailer,
      (job) => {
        order.push((job.data as { outboxId: number }).outboxId);
        return Promise.resolve();
      },
      {
        connection: new Redis(stack.redisUrl, { maxRetriesPerRequest: null }),
        prefix: cfg.prefix,
        concurrency: 1,
      },
    );
    closers.push(() => worker.close());
    await eventually(() => (order.length === 8 ? true : undefined), { what: 'eight jobs' });
    expect(order).toEqual([1, 5, 2, 3, 4, 6, 7, 8]);
  });

  it('passes checkRedis(): version ≥ 6.2 and noeviction', async () => {
    await expect(checkRedis({ url: stack.redisUrl, prefix: 'x' })).resolves.toMatchObject({ ok: true });
  });
});
