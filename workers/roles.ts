import { Worker } from 'bullmq';
import { unsentOutboxIds } from '../src/cases/outbox-store.js';
import { describeError } from '../src/core/errors.js';
import { packageRoot } from '../src/core/paths.js';
import { createRedis } from '../src/jobs/redis.js';
import { createMailerQueue, QUEUES, type MailerJob } from '../src/jobs/queues.js';
import type { RoleDeps, RunningRole } from '../src/main.js';
import { createSmtpTransport } from '../src/outbox/smtp-transport.js';
import { loadTemplates } from '../src/outbox/templates.js';
import { createSealer } from '../src/pgp/sealer.js';
import { join } from 'node:path';
import { deliverOutbox, staleClaimMs } from './deliver-outbox.js';

/**
 * The mailer role: a BullMQ worker sending outbox rows, and a reconciler that re-enqueues every
 * unsent row at start and every `mailer.reconcile_interval_seconds` — so a lost enqueue, a Redis
 * restart or a FLUSHALL only delays mail (invariant 1).
 */
export function startMailer(deps: RoleDeps): RunningRole {
  const { config, log } = deps;
  const team = deps.teamKeys[0];
  if (team === undefined) throw new Error('no team key loaded');
  const templates = loadTemplates(
    config.templates.dir === '' ? join(packageRoot(), 'config', 'templates') : config.templates.dir,
  );
  const transport = createSmtpTransport(config.smtp);
  const queue = createMailerQueue(config.redis);
  const connection = createRedis(config.redis, 'worker');
  connection.on('error', (err: unknown) =>
    log.warn({ event: 'mailer.redis-error', err: describeError(err) }, 'Redis error'),
  );
  const deliverDeps = {
    ...deps,
    templates,
    transport,
    sealer: createSealer(team),
    reports: deps.reports,
  };
  const worker = new Worker<MailerJob>(
    QUEUES.mailer,
    async (job) => {
      const alerts = await deliverOutbox(deliverDeps, job.data.outboxId);
      await queue.enqueue(alerts);
    },
    {
      connection,
      prefix: config.redis.prefix,
      concurrency: config.mailer.concurrency,
      // A job held by a worker that died is released after 15 s instead of BullMQ's 30 s.
      lockDuration: 15_000,
      stalledInterval: 15_000,
    },
  );
  worker.on('error', (err) =>
    log.warn({ event: 'mailer.worker-error', err: describeError(err) }, 'worker error'),
  );

  const reconcile = async (): Promise<void> => {
    const ids = unsentOutboxIds(deps.db, deps.clock, staleClaimMs(config));
    if (ids.length === 0) return;
    try {
      await queue.enqueue(ids);
      // Rows whose job still exists (waiting, retrying, or held by a worker) are left as they are.
      log.info(
        { event: 'outbox.reconciled', unsent: ids.length },
        'unsent outbox rows checked; missing jobs re-created',
      );
    } catch (err) {
      log.warn(
        { event: 'outbox.reconcile-failed', err: describeError(err) },
        'reconcile failed; next round retries',
      );
    }
  };
  void reconcile();
  const timer = setInterval(() => void reconcile(), config.mailer.reconcile_interval_seconds * 1000);
  return {
    name: 'mailer',
    async stop() {
      clearInterval(timer);
      await worker.close();
      await queue.close();
      connection.disconnect();
      transport.close();
    },
  };
}

/** The escalation role: sweeps due deadlines and mails on-call. Built in issue #5. */
export function startEscalation(deps: RoleDeps): RunningRole {
  deps.log.warn(
    { event: 'escalation.not-built' },
    'escalation role is not built yet (issue #5); it escalates nothing',
  );
  return { name: 'escalation', stop: () => Promise.resolve() };
}
