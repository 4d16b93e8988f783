import { Queue, Worker } from 'bullmq';
import type { Config } from '../config/schema.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { settledWithin } from '../core/within.js';
import { QUEUES, RETENTION_SCHEDULER, SWEEP_SCHEDULER, type QueueName } from './queues.js';
import { createRedis, type Redis } from './redis.js';

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
  /**
   * Waits for the running jobs (at most `closeWithinMs`) and for BullMQ (at most 5 s more), then
   * disconnects; rejects when a job did not finish in time (it is retried: its lock lapses), so
   * the service can say so.
   */
  close(): Promise<void>;
}

/**
 * How long past the delay it announced a connection may still be waiting to reconnect before it
 * counts as parked: ioredis announces every retry with its delay (`reconnecting`), and a live
 * retry timer fires on time give or take event-loop lag.
 */
export const PARK_MARGIN_MS = 5_000;
/**
 * Once closing, BullMQ has disconnected the connection (clearing any retry timer of its own):
 * a second past the retry it announced is enough, so a close does not wait on the margin.
 */
const PARK_MARGIN_CLOSING_MS = 1_000;
const WATCH_EVERY_MS = 1_000;
/**
 * How long close() waits for the running jobs: a mail being sent may wait on the relay's SMTP
 * timeouts (60 s); under systemd's TimeoutStopSec (90 s).
 */
export const WORKER_CLOSE_MS = 60_000;
/**
 * How long close() then waits for BullMQ to let go of Redis. With Redis down it never does (its
 * commands wait for a reconnect): nothing is lost — the work is in SQLite — so the connections
 * are dropped and the stop is clean.
 */
const BULLMQ_CLOSE_MS = 5_000;

/** The watch of a worker's blocking connection (watchParked). */
export interface ParkWatch {
  /** The connections BullMQ duplicated from the worker's own. */
  readonly duplicates: readonly Redis[];
  /** From now on a revived connection is ended once connected (the worker is closing). */
  closing(): void;
  stop(): void;
}

/**
 * Watches the connections BullMQ duplicates from `connection` (the worker's blocking one) for
 * the park of bullmq#4585/#4656: BullMQ 6.7 disconnects a blocking connection while ioredis waits
 * to reconnect it, which clears ioredis's retry timer without ending the client. It then stays
 * `reconnecting` for ever: the worker takes no job again, and its close() waits for an `end` that
 * never comes (seen after a Redis restart: no escalation sweep again, `psirt start` not
 * stopping). A connection still `reconnecting` `PARK_MARGIN_MS` after the retry it announced is
 * connected again (once closing: 1 s after it, and ended once connected). One whose retry timer
 * is live is never touched (two retry chains would leak a socket past close).
 */
export function watchParked(connection: Redis, log: Logger, role: string): ParkWatch {
  const duplicates: Redis[] = [];
  /** When each connection said it would try again. */
  const retryAt = new Map<Redis, number>();
  const duplicate = connection.duplicate.bind(connection);
  connection.duplicate = (...args: Parameters<Redis['duplicate']>) => {
    const d = duplicate(...args);
    duplicates.push(d);
    d.on('reconnecting', (delay: unknown) => {
      retryAt.set(d, Date.now() + (typeof delay === 'number' ? delay : 0));
    });
    return d;
  };
  let closing = false;
  const look = (): void => {
    const now = Date.now();
    for (const d of duplicates) {
      const at = retryAt.get(d);
      const margin = closing ? PARK_MARGIN_CLOSING_MS : PARK_MARGIN_MS;
      if (d.status !== 'reconnecting' || at === undefined || now < at + margin) continue;
      retryAt.delete(d);
      log.warn(
        { event: `${role}.redis-parked`, closing },
        'a blocking Redis connection stopped reconnecting; connecting it again',
      );
      d.connect().then(
        () => {
          if (closing) d.disconnect();
        },
        () => undefined, // it ends (or retries on its own): BullMQ reconnects an ended one
      );
    }
  };
  const timer = setInterval(look, WATCH_EVERY_MS);
  timer.unref();
  return {
    duplicates,
    closing: () => {
      closing = true;
    },
    stop: () => clearInterval(timer),
  };
}

/**
 * Waits until none of `running` is left — also those added while waiting, and past a rejected
 * one — or `deadline` (epoch ms) passes; true when none is left.
 */
async function idle(running: ReadonlySet<Promise<void>>, deadline: number): Promise<boolean> {
  while (running.size > 0) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await settledWithin(Promise.allSettled([...running]), left);
  }
  return true;
}

/**
 * A BullMQ worker on its own Redis connection (workers block on it), both logging their errors
 * instead of throwing them: a Redis outage only delays work (invariant 1). Its blocking
 * connection is watched for BullMQ's park (watchParked), and close() is bounded.
 */
export function startWorker<T>(
  cfg: Config['redis'],
  log: Logger,
  spec: WorkerSpec<T>,
  closeWithinMs = WORKER_CLOSE_MS,
): RunningWorker {
  const connection = createRedis(cfg, 'worker');
  connection.on('error', (err: unknown) =>
    log.warn({ event: `${spec.role}.redis-error`, err: describeError(err) }, 'Redis error'),
  );
  const parked = watchParked(connection, log, spec.role);
  // The jobs running in this process: what a stop waits for (BullMQ's own close also waits on
  // Redis, which may be down).
  const running = new Set<Promise<void>>();
  const track = (data: T): Promise<void> => {
    const p = spec.process(data);
    running.add(p);
    void p.then(
      () => running.delete(p),
      () => running.delete(p),
    );
    return p;
  };
  const worker = new Worker<T>(spec.queue, (job) => track(job.data), {
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
      parked.closing();
      const closing = worker.close();
      const deadline = Date.now() + closeWithinMs;
      let released = false;
      // Our jobs first — also one BullMQ fetched as the close began and started meanwhile —
      // then BullMQ; it waits on Redis, which may be down, so it gets BULLMQ_CLOSE_MS.
      while (await idle(running, deadline)) {
        released = await settledWithin(closing, BULLMQ_CLOSE_MS);
        if (released || running.size === 0) break;
      }
      const jobsDone = running.size === 0;
      const redis = connection.status;
      parked.stop();
      for (const d of parked.duplicates) d.disconnect();
      connection.disconnect();
      if (!jobsDone) {
        log.warn(
          { event: `${spec.role}.worker-close-timeout`, seconds: closeWithinMs / 1000 },
          'a job did not finish in time; disconnected the worker (the job runs again later)',
        );
        throw new Error(`the ${spec.role} worker did not close within ${String(closeWithinMs / 1000)} s`);
      }
      if (!released)
        log.info(
          { event: `${spec.role}.worker-disconnected`, redis },
          'no job running and Redis did not answer; disconnected the worker (nothing is lost)',
        );
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
