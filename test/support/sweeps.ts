import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/load.js';
import { QUEUES } from '../../src/jobs/queues.js';
import { eventually } from './eventually.js';

/**
 * Escalation sweeps observed from outside the service processes: BullMQ writes every job's
 * `active` and `completed` into its queue's event stream (`<prefix>:<queue>:events`, entry ids
 * are Redis's clock in ms), even for jobs removed on completion. A test that must show that
 * "nothing more happens" waits for sweeps that began after the moment that matters instead of
 * sleeping.
 */

/** The escalation queue's event stream key for a service started with `env`. */
export function sweepStream(env: Record<string, string>): string {
  const { prefix } = loadConfig({ env: { PSIRT_IMAP__PASSWORD: 'x', ...env } }).redis;
  return `${prefix}:${QUEUES.escalation}:events`;
}

/** How many sweep jobs became active at or after `sinceMs` (epoch ms) and have completed. */
export async function sweepsSince(redisUrl: string, stream: string, sinceMs: number): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const entries = await redis.xrange(stream, String(Math.floor(sinceMs)), '+');
    const began = new Set<string>();
    let done = 0;
    for (const [, fields] of entries) {
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
      const jobId = f.get('jobId');
      if (jobId === undefined) continue;
      if (f.get('event') === 'active') began.add(jobId);
      if (f.get('event') === 'completed' && began.has(jobId)) done += 1;
    }
    return done;
  } finally {
    redis.disconnect();
  }
}

/**
 * Waits until `count` sweeps began at or after `sinceMs` and completed; a sweep reads the due
 * steps with its own clock after it began, so it saw every step due by `sinceMs`.
 */
export async function sweptSince(
  redisUrl: string,
  stream: string,
  sinceMs: number,
  { count = 1, timeoutMs = 20_000 } = {},
): Promise<void> {
  await eventually(async () => ((await sweepsSince(redisUrl, stream, sinceMs)) >= count ? true : undefined), {
    timeoutMs: Math.max(0, sinceMs - Date.now()) + timeoutMs,
    intervalMs: 250,
    what: `${count} escalation sweep(s) begun after ${new Date(sinceMs).toISOString()} (BullMQ events in ${stream})`,
  });
}
