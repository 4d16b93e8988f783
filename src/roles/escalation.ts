import { dueEscalations, fireEscalation, rederiveOpenCases } from '../7-cases/deadline-store.js';
import { describeError } from '../core/errors.js';
import { createMailerQueue, QUEUES } from '../jobs/queues.js';
import { createSweepScheduler, startWorker } from '../jobs/worker.js';
import { repeat, type RoleDeps, type RunningRole } from './role.js';

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
  const scheduler = createSweepScheduler(config.redis);

  const sweep = async (): Promise<void> => {
    const sent: number[] = [];
    for (;;) {
      const ids = dueEscalations(db, clock.now());
      if (ids.length === 0) break;
      for (const id of ids) {
        const outboxId = fireEscalation(db, clock, config, id);
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
  const worker = startWorker(config.redis, log, {
    queue: QUEUES.escalation,
    role: 'escalation',
    concurrency: 1,
    lockDuration: 30_000,
    process: sweep,
  });
  const schedule = async (): Promise<void> => {
    try {
      await scheduler.upsert(config.escalation.sweep_interval_seconds * 1000);
    } catch (err) {
      log.warn({ event: 'escalation.schedule-failed', err: describeError(err) }, 'next round retries');
    }
  };
  const stopScheduling = repeat(schedule, config.mailer.reconcile_interval_seconds);
  return {
    name: 'escalation',
    async stop() {
      stopScheduling();
      await worker.close();
      await scheduler.close();
      await mailer.close();
    },
  };
}
