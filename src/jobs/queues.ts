import { Queue } from 'bullmq';
import type { Config } from '../config/schema.js';
import { createRedis, type Redis } from './redis.js';

/** Queue names, declared once (STYLE.md rule 13). The contract between src/ and workers/. */
export const QUEUES = {
  mailer: 'mailer',
  escalation: 'escalation',
  retention: 'retention',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** The BullMQ job scheduler of the escalation sweep (one per installation prefix). */
export const SWEEP_SCHEDULER = 'escalation-sweep';

/** The BullMQ job scheduler of the daily retention run (issue #13; one per installation prefix). */
export const RETENTION_SCHEDULER = 'retention-daily';

/** Payload of a mailer job: only the outbox row id; everything else is read from SQLite. */
export interface MailerJob {
  outboxId: number;
}

/** BullMQ job id of an outbox row: not all digits and without ':' (BullMQ refuses both). */
export const mailerJobId = (outboxId: number): string => `outbox-${outboxId}`;

/** Retry policy for transient SMTP failures (4xx, network): 8 tries over about 20 minutes. */
export const MAILER_JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: true,
  removeOnFail: true,
} as const;

/** BullMQ priority of mail nobody waits for (lower runs first; no priority runs before all). */
export const BACKGROUND_PRIORITY = 10;

export interface MailerQueue {
  /**
   * Enqueues rows; Redis being down is not an error here: the reconciler re-enqueues (invariant
   * 1). Rows listed in `background` are sent after every row without that mark (BullMQ priority).
   */
  enqueue(outboxIds: readonly number[], opts?: { background?: readonly number[] }): Promise<void>;
  /**
   * Moves every delayed job (a transient failure waiting out its back-off) to waiting, so it runs
   * now: the relay answers again (#15), and waiting mail should not sit out the back-off.
   */
  promoteDelayed(): Promise<void>;
  close(): Promise<void>;
  readonly queue: Queue<MailerJob>;
}

/** The retry schedule of mailer jobs (`mailer.retry_attempts`, `mailer.retry_delay_seconds`). */
export interface MailerRetry {
  retry_attempts: number;
  retry_delay_seconds: number;
}

export function createMailerQueue(cfg: Config['redis'], retry?: MailerRetry): MailerQueue {
  const jobOptions =
    retry === undefined
      ? MAILER_JOB_OPTIONS
      : {
          ...MAILER_JOB_OPTIONS,
          attempts: retry.retry_attempts,
          backoff: { type: 'exponential', delay: retry.retry_delay_seconds * 1000 },
        };
  const connection: Redis = createRedis(cfg, 'producer');
  connection.on('error', () => undefined); // reported by the failing add()
  const queue = new Queue<MailerJob>(QUEUES.mailer, { connection, prefix: cfg.prefix });
  queue.on('error', () => undefined); // ditto
  return {
    queue,
    async enqueue(ids, opts = {}) {
      if (ids.length === 0) return;
      const background = new Set(opts.background ?? []);
      await queue.addBulk(
        ids.map((outboxId) => ({
          name: 'send',
          data: { outboxId },
          opts: {
            ...jobOptions,
            jobId: mailerJobId(outboxId),
            // Jobs without a priority run first: acknowledgments before staff notifications.
            ...(background.has(outboxId) ? { priority: BACKGROUND_PRIORITY } : {}),
          },
        })),
      );
    },
    async promoteDelayed() {
      await queue.promoteJobs({ count: 1000 });
    },
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}
