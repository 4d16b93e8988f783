import { recordChannelAlert } from '../7-cases/channel-watch-store.js';
import { dueEscalations, fireEscalation, rederiveOpenCases } from '../7-cases/deadline-store.js';
import { sweepEmbargo } from '../7-cases/embargo-store.js';
import { describeError } from '../core/errors.js';
import { createMailerQueue, QUEUES } from '../jobs/queues.js';
import { createSweepScheduler, startWorker } from '../jobs/worker.js';
import { dueChannelAlerts, watchedExpiries } from '../policy/channel-watch.js';
import { checkDeadman } from './deadman.js';
import { repeat, type RoleDeps, type RunningRole } from './role.js';

/**
 * The watch on the public channel (issue #12): security.txt's configured Expires and the signing
 * team key's expiry (the first of `pgp.keys`, as loaded at start: no second read of the key)
 * each alert the accountable role `public_channel.watch_before` ahead, once per date. Returns
 * the outbox ids written.
 */
export function watchPublicChannel(
  deps: Pick<RoleDeps, 'config' | 'db' | 'clock' | 'calendar'> & {
    signingKey: { fingerprint: string; expires: Date | null } | undefined;
  },
): number[] {
  const { config, db, clock } = deps;
  const watched = watchedExpiries(config.public_channel.expires, deps.signingKey);
  const due = dueChannelAlerts(watched, clock.now(), config.public_channel.watch_before, deps.calendar);
  const sent: number[] = [];
  for (const alert of due) {
    const id = recordChannelAlert(db, clock, config, alert);
    if (id !== null) sent.push(id);
  }
  return sent;
}

/**
 * The escalation role (issue #5): at start it derives the deadlines of open cases again when the
 * calendar or policy changed, then a BullMQ job scheduler runs a sweep every
 * `escalation.sweep_interval_seconds`. A sweep claims each due step in SQLite and writes its mail
 * to the outbox in the same transaction, so several escalation workers send each step once. The
 * scheduler is re-created every `mailer.reconcile_interval_seconds`: a Redis restart or FLUSHALL
 * delays a step by at most that long and loses none. Each sweep also watches the public channel
 * (watchPublicChannel) and sends the due embargo reminders (sweepEmbargo, issue #14).
 */
export function startEscalation(deps: RoleDeps): RunningRole {
  const { config, log, db, clock } = deps;
  const done = rederiveOpenCases(db, config, deps.calendar, clock, {
    progress: (n, total) =>
      log.info({ event: 'deadlines.rederived', done: n, total }, 'deadlines derived again'),
  });
  if (done > 0) log.info({ event: 'deadlines.rederive-finished', cases: done }, 'open cases re-derived');
  const mailer = createMailerQueue(config.redis, config.mailer);
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
    // Embargo reminders (issue #14): claimed like the steps, each once per agreed date.
    const reminders = sweepEmbargo(db, clock, {
      config,
      calendar: deps.calendar,
      caseIdPattern: deps.caseIdFormat.pattern,
    });
    if (reminders.length > 0)
      log.info({ event: 'embargo.reminded', sent: reminders.length }, 'embargo reminders sent');
    sent.push(...reminders);
    const channel = watchPublicChannel({ ...deps, signingKey: deps.teamKeys[0] });
    if (channel.length > 0)
      log.info({ event: 'channel.expiry-alerted', sent: channel.length }, 'public channel expiry alerted');
    sent.push(...channel);
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
  // The dead-man on the mail path (#15) looks on its own timer, not the BullMQ scheduler: it must
  // keep looking while Redis is in trouble (its rows wait in SQLite for the reconciler).
  const watchingSince = clock.now();
  const stopDeadman = config.deadman.enabled
    ? repeat(async () => {
        try {
          const ids = checkDeadman(deps, watchingSince);
          if (ids.length > 0) await mailer.enqueue(ids);
        } catch (err) {
          log.warn(
            { event: 'deadman.check-failed', err: describeError(err) },
            'dead-man check failed; next look retries',
          );
        }
      }, config.deadman.check_seconds)
    : () => undefined;
  return {
    name: 'escalation',
    async stop() {
      stopDeadman();
      stopScheduling();
      try {
        await worker.close();
      } finally {
        // Also after a worker that did not close in time: the rest is let go (its error names it).
        await scheduler.close();
        await mailer.close();
      }
    },
  };
}
