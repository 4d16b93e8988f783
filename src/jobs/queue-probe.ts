import { Queue } from 'bullmq';
import type { Config } from '../config/schema.js';
import { settledWithin, within } from '../core/within.js';
import { QUEUES, type QueueName } from './queues.js';
import { createRedis, type Redis } from './redis.js';

/** The BullMQ job states the metrics report per queue (a fixed vocabulary). */
export const JOB_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface QueueDepth {
  queue: QueueName;
  state: JobState;
  n: number;
}

/**
 * Redis as the metrics and `/readyz` see it (#15): one connection for the process, reused by
 * every scrape; Redis being down is an answer (a rejected promise within `timeoutMs`), never a
 * hang. The connection reconnects by itself when Redis is back.
 */
export interface QueueProbe {
  /** Jobs per queue of `QUEUES` and state. */
  depths(timeoutMs: number): Promise<QueueDepth[]>;
  /** PING; rejects when Redis does not answer PONG in time. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export function createQueueProbe(cfg: Config['redis']): QueueProbe {
  const connection: Redis = createRedis(cfg, 'producer');
  connection.on('error', () => undefined); // reported by the failing call
  const queues = Object.values(QUEUES).map((name) => {
    const q = new Queue(name, { connection, prefix: cfg.prefix });
    q.on('error', () => undefined); // ditto
    return { name, q };
  });
  // NB! lazyConnect: the first command connects (ioredis), BullMQ waits for the connection itself.
  return {
    async depths(timeoutMs) {
      const all = within(
        Promise.all(
          queues.map(async ({ name, q }) => ({ name, counts: await q.getJobCounts(...JOB_STATES) })),
        ),
        timeoutMs,
        'redis job counts',
      );
      const out: QueueDepth[] = [];
      for (const { name, counts } of await all)
        for (const state of JOB_STATES) out.push({ queue: name, state, n: counts[state] ?? 0 });
      return out;
    },
    async ping(timeoutMs) {
      await within(connection.ping(), timeoutMs, 'redis PING');
    },
    async close() {
      // Bounded: a queue whose connection is still reconnecting (Redis restarted) can wait on it
      // for ever, and a stopping service must not hang on its probe (#15 CI).
      await settledWithin(Promise.all(queues.map(({ q }) => q.close().catch(() => undefined))), 3000);
      connection.disconnect();
    },
  };
}
