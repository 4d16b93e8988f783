import { join } from 'node:path';
import { unsentOutboxIds, type OutboxRow } from '../7-cases/outbox-store.js';
import { reportFetchedAt } from '../7-cases/metrics-store.js';
import { createGroupCommit } from '../7-cases/group-commit.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import { describeError } from '../core/errors.js';
import { packageRoot } from '../core/paths.js';
import { createMailerQueue, QUEUES, type MailerJob } from '../jobs/queues.js';
import { startWorker } from '../jobs/worker.js';
import { createFallbackTransport, createSmtpTransport } from '../8-outbox/smtp-transport.js';
import { smtpAuthOf } from '../config/schema/transport.js';
import { loadTemplates } from '../8-outbox/templates.js';
import { createSealer } from '../pgp/sealer.js';
import { composeMail } from '../8-outbox/compose.js';
import { deliverOutbox, staleClaimMs } from '../8-outbox/deliver.js';
import { startRelayWatch } from './relay-watch.js';
import { createComposePool } from './compose-pool.js';
import { repeat, type RoleDeps, type RunningRole } from './role.js';

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
  const transport = createSmtpTransport(
    config.smtp,
    smtpAuthOf(config.smtp) === 'oauth2' ? (deps.tokens ?? null) : null,
  );
  const fallbackTransport = createFallbackTransport(config.smtp_fallback);
  const queue = createMailerQueue(config.redis, config.mailer);
  // #15: a relay that answers again gets every waiting mail now, not on the back-off schedule.
  const relay = startRelayWatch(deps, transport, {
    enqueue: (ids) => queue.enqueue(ids),
    recovered: async () => {
      await queue.promoteDelayed();
      await reconcile();
      log.info({ event: 'outbox.promoted' }, 'waiting mail sent now');
    },
  });
  const metrics = deps.metrics;
  // #16: OpenPGP and MIME on another core; none while idle (threads end after a minute).
  const sealer = createSealer(team);
  const pool =
    config.mailer.compose_threads === 0
      ? null
      : createComposePool(team, {
          size: config.mailer.compose_threads,
          idleMs: 60_000,
          log,
          fallback: (mail, protection) => composeMail(mail, protection, sealer),
        });
  // #16: the claims and marks of concurrent jobs share durable commits (synchronous = FULL).
  const writes = createGroupCommit(deps.db);
  const deliverDeps = {
    ...deps,
    writes,
    templates,
    transport,
    fallbackTransport,
    relay,
    sealer,
    ...(pool === null ? {} : { compose: pool.compose }),
    ...(metrics === undefined
      ? {}
      : { onSent: (row: OutboxRow) => observeAcknowledgment(deps, row, metrics) }),
  };
  const worker = startWorker<MailerJob>(config.redis, log, {
    queue: QUEUES.mailer,
    role: 'mailer',
    concurrency: config.mailer.concurrency,
    // A job held by a worker that died is released after 15 s instead of BullMQ's 30 s.
    lockDuration: 15_000,
    stalledInterval: 15_000,
    process: async ({ outboxId }) => {
      const alerts = await deliverOutbox(deliverDeps, outboxId);
      await queue.enqueue(alerts);
    },
  });

  async function reconcile(): Promise<void> {
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
  }
  const stopReconciling = repeat(reconcile, config.mailer.reconcile_interval_seconds);
  return {
    name: 'mailer',
    async stop() {
      stopReconciling();
      relay.stop();
      // The pool first: a job waiting on a thread ends at once (retried later) instead of
      // holding the worker's close (review of #16).
      await pool?.close();
      try {
        await worker.close();
      } finally {
        // Also after a worker that did not close in time: the rest is let go (its error names it).
        writes.flush();
        await queue.close();
        transport.close();
        fallbackTransport?.close();
      }
    },
  };
}

/**
 * The acknowledgment latency (#15): from the report being fetched (`messages.stored_at`) to its
 * acknowledgment being accepted by the relay, observed by the mailer process that sent it.
 */
function observeAcknowledgment(deps: RoleDeps, row: OutboxRow, metrics: ServiceMetrics): void {
  if (row.kind !== 'acknowledgment') return;
  const payload = row.payload as { messageRowId?: unknown };
  if (typeof payload.messageRowId !== 'number') return;
  try {
    const fetchedAt = reportFetchedAt(deps.db, payload.messageRowId);
    if (fetchedAt !== null) metrics.acknowledged((deps.clock.now().getTime() - fetchedAt.getTime()) / 1000);
  } catch (err) {
    deps.log.warn({ event: 'metrics.ack-latency-failed', err: describeError(err) }, 'latency not observed');
  }
}
