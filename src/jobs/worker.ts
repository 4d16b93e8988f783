import { Queue, Worker } from 'bullmq';
import type { Config } from '../config/schema.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { QUEUES, RETENTION_SCHEDULER, SWEEP_SCHEDULER, type QueueName } from './queues.js';
import { createRedis } from './redis.js';

/** How a role consumes one queue. */
export interface WorkerSpec<T> {
  queue: QueueName;
  /** Prefix of the logged events: `<role>.redis-error`, `<role>.worker-error`. */
  role: string;
  concurrency: number;
  /** How long a job stays locked to this worker without a renewal (ms). */
  lockDuration: number;
  /** How often stalled jobs are looked for (ms); BullMQ's default when absent. */
  stalledInterval?: number;
  process: (data: T) => Promise<void>;
}

export interface RunningWorker {
  /** Waits for the running jobs, then disconnects. */
  close(): Promise<void>;
}

/**
 * A BullMQ worker on its own Redis connection (workers block on it), both logging their errors
 * instead of throwing them: a Redis outage only delays work (invariant 1).
 */
export function startWorker<T>(cfg: Config['redis'], log: Logger, spec: WorkerSpec<T>): RunningWorker {
  const connection = createRedis(cfg, 'worker');
  connection.on('error', (err: unknown) =>
    log.warn({ event: `${spec.role}.redis-error`, err: describeError(err) }, 'Redis error'),
  );
  const worker = new Worker<T>(spec.queue, (job) => spec.process(job.data), {
    connection,
    prefix: cfg.prefix,
    concurrency: spec.concurrency,
    lockDuration: spec.lockDuration,
    ...(spec.stalledInterval === undefined ? {} : { stalledInterval: spec.stalledInterval }),
  });
  worker.on('error', (err) =>
    log.warn({ event: `${spec.role}.worker-error`, err: describeError(err) }, 'worker error'),
  );
  return {
    async close() {
      await worker.close();
      connection.disconnect();
    },
  };
}

export interface SweepScheduler {
  /** Creates or updates the job scheduler of the escalation sweep; throws when Redis is away. */
  upsert(everyMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The producer side of the escalation queue: its one job scheduler (`SWEEP_SCHEDULER`). */
export function createSweepScheduler(cfg: Config['redis']): SweepScheduler {
  const producer = createRedis(cfg, 'producer');
  producer.on('error', () => undefined); // reported by the failing call
  const queue = new Queue(QUEUES.escalation, { connection: producer, prefix: cfg.prefix });
  queue.on('error', () => undefined);
  return {
    async upsert(everyMs) {
      await queue.upsertJobScheduler(
        SWEEP_SCHEDULER,
        { every: everyMs },
        { name: 'sweep', opts: { removeOnComplete: true, removeOnFail: true } },
      );
    },
    async close() {
      await queue.close();
      producer.disconnect();
    },
  };
}

export interface DailyScheduler {
  /**
   * Creates or updates the job scheduler of the daily retention run at `time` ("HH:MM") local
   * time in the IANA zone `tz` (a cron pattern; BullMQ follows the zone's DST changes); throws
   * when Redis is away.
   */
  upsert(time: string, tz: string): Promise<void>;
  close(): Promise<void>;
}

/** The cron pattern of a daily run at "HH:MM": minute, hour, every day. */
export function dailyPattern(time: string): string {
  const [hh, mm] = time.split(':').map(Number) as [number, number];
  return `${String(mm)} ${String(hh)} * * *`;
}

/** The producer side of the retention queue: its one job scheduler (`RETENTION_SCHEDULER`). */
export function createRetentionScheduler(cfg: Config['redis']): DailyScheduler {
  const producer = createRedis(cfg, 'producer');
  producer.on('error', () => undefined); // reported by the failing call
  const queue = new Queue(QUEUES.retention, { connection: producer, prefix: cfg.prefix });
  queue.on('error', () => undefined);
  return {
    async upsert(time, tz) {
      await queue.upsertJobScheduler(
        RETENTION_SCHEDULER,
        { pattern: dailyPattern(time), tz },
        { name: 'purge', opts: { removeOnComplete: true, removeOnFail: true } },
      );
    },
    async close() {
      await queue.close();
      producer.disconnect();
    },
  };
}
