import { Queue, Worker } from 'bullmq';
import { unsentOutboxIds } from '../src/cases/outbox-store.js';
import { mintMessageId } from '../src/cases/case-store.js';
import { dueEscalations, fireEscalation, rederiveOpenCases } from '../src/cases/deadline-store.js';
import { describeError } from '../src/core/errors.js';
import { packageRoot } from '../src/core/paths.js';
import { createRedis } from '../src/jobs/redis.js';
import { createMailerQueue, QUEUES, SWEEP_SCHEDULER, type MailerJob } from '../src/jobs/queues.js';
import type { RoleDeps, RunningRole } from '../src/main.js';
import { createSmtpTransport } from '../src/outbox/smtp-transport.js';
import { loadTemplates } from '../src/outbox/templates.js';
import { createSealer } from '../src/pgp/sealer.js';
import { join } from 'node:path';
import { deliverOutbox, staleClaimMs } from '../src/outbox/deliver.js';

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

/**
 * The escalation role (issue #5): at start it derives the deadlines of open cases again when the
 * calendar or policy changed, then a BullMQ job scheduler runs a sweep every
 * `escalation.sweep_interval_seconds`. A sweep claims each due step in SQLite and writes its mail
 * to the outbox in the same transaction, so several escalation workers send each step once. The
 * scheduler is re-created every `mailer.reconcile_interval_seconds`: a Redis restart or FLUSHALL
 * delays a step by at most that long and loses none.
 */
export function startEscalation(deps: RoleDeps): RunningRole {
  const { config, log, db, clock } = deps;
  const done = rederiveOpenCases(db, config, deps.calendar, clock, {
    progress: (n, total) =>
      log.info({ event: 'deadlines.rederived', done: n, total }, 'deadlines derived again'),
  });
  if (done > 0) log.info({ event: 'deadlines.rederive-finished', cases: done }, 'open cases re-derived');
  const mailer = createMailerQueue(config.redis);
  const connection = createRedis(config.redis, 'worker');
  connection.on('error', (err: unknown) =>
    log.warn({ event: 'escalation.redis-error', err: describeError(err) }, 'Redis error'),
  );
  const producer = createRedis(config.redis, 'producer');
  producer.on('error', () => undefined); // reported by the failing call
  const queue = new Queue(QUEUES.escalation, { connection: producer, prefix: config.redis.prefix });
  queue.on('error', () => undefined);

  const sweep = async (): Promise<void> => {
    const sent: number[] = [];
    for (;;) {
      const ids = dueEscalations(db, clock.now());
      if (ids.length === 0) break;
      for (const id of ids) {
        const outboxId = fireEscalation(db, clock, config, id, mintMessageId);
        if (outboxId !== null) sent.push(outboxId);
      }
      if (ids.length < 500) break;
    }
    if (sent.length === 0) return;
    log.info({ event: 'escalation.swept', sent: sent.length }, 'escalation steps sent');
    try {
      await mailer.enqueue(sent);
    } catch (err) {
      // Not lost: the rows are in SQLite and the mailer's reconciler enqueues them.
      log.warn({ event: 'escalation.enqueue-failed', err: describeError(err) }, 'enqueue failed');
    }
  };
  const worker = new Worker(QUEUES.escalation, sweep, {
    connection,
    prefix: config.redis.prefix,
    concurrency: 1,
    lockDuration: 30_000,
  });
  worker.on('error', (err) =>
    log.warn({ event: 'escalation.worker-error', err: describeError(err) }, 'worker error'),
  );
  const schedule = async (): Promise<void> => {
    try {
      await queue.upsertJobScheduler(
        SWEEP_SCHEDULER,
        { every: config.escalation.sweep_interval_seconds * 1000 },
        { name: 'sweep', opts: { removeOnComplete: true, removeOnFail: true } },
      );
    } catch (err) {
      log.warn({ event: 'escalation.schedule-failed', err: describeError(err) }, 'next round retries');
    }
  };
  void schedule();
  const timer = setInterval(() => void schedule(), config.mailer.reconcile_interval_seconds * 1000);
  return {
    name: 'escalation',
    async stop() {
      clearInterval(timer);
      await worker.close();
      await queue.close();
      await mailer.close();
      connection.disconnect();
      producer.disconnect();
    },
  };
}
