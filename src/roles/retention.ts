import { readdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Calendar } from '../calendar/calendar.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../7-cases/db.js';
import { openDatabase } from '../7-cases/db.js';
import {
  compactAfterPurge,
  lastRetentionRun,
  preparePurgeConnection,
  purgeCase,
  purgedDigests,
  readRetentionCandidates,
  recordRetentionRun,
  type RetentionRunSummary,
} from '../7-cases/retention-store.js';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { QUEUES } from '../jobs/queues.js';
import { createRetentionScheduler, startWorker } from '../jobs/worker.js';
import { candidateBound, planRetention, type RetentionPlan } from '../policy/retention.js';
import { repeat, type RoleDeps, type RunningRole } from './role.js';

/** Cases purged between two yields to the event loop (each case is its own transaction). */
const BATCH = 50;

/** A run older than this (or none at all) is made up at start and at the next scheduler tick. */
export const CATCH_UP_AFTER_MS = 25 * 3_600_000;

/** The folder oversize mail is spooled to (src/roles/intake.ts): beside the database. */
export const spoolDirOf = (config: Config): string => join(dirname(config.database.path), 'spool');

/** What the next run would purge at `now` and what a hold keeps (`psirt retention --dry-run`). */
export function retentionPlanAt(db: Db, config: Config, calendar: Calendar, now: Date): RetentionPlan {
  const years = config.retention.years;
  return planRetention(readRetentionCandidates(db, candidateBound(now, years)), now, years, calendar);
}

export interface RetentionRunDeps {
  db: Db;
  config: Config;
  calendar: Calendar;
  clock: Clock;
  log: Logger;
  /** Called after each case (CLI progress). */
  progress?: (done: number, total: number) => void;
}

export interface RetentionRunResult extends RetentionRunSummary {
  /** The ids purged, oldest closure first. */
  purgedIds: string[];
  heldIds: string[];
  checkpointBusy: boolean;
}

const SPOOL_NAME = /^([0-9a-f]{64})\./;

/** Deletes a spool file; a file already gone is fine, any other failure is logged (the orphan sweep retries). */
async function removeSpoolFile(path: string, log: Logger): Promise<number> {
  try {
    await unlink(path);
    return 1;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    log.warn({ event: 'retention.spool-unlink-failed', err: describeError(err) }, 'spool file not removed');
    return 0;
  }
}

/** Spool files whose message row was purged: left behind by a crash between commit and unlink. */
async function sweepOrphans(db: Db, dir: string, log: Logger): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  const byDigest = new Map<string, string[]>();
  for (const name of names) {
    const m = SPOOL_NAME.exec(name);
    if (m?.[1] === undefined) continue;
    byDigest.set(m[1], [...(byDigest.get(m[1]) ?? []), name]);
  }
  let removed = 0;
  for (const digest of purgedDigests(db, [...byDigest.keys()]))
    for (const name of byDigest.get(digest) ?? []) removed += await removeSpoolFile(join(dir, name), log);
  return removed;
}

/**
 * One retention run (the daily job and `psirt retention`):
 * 1. plan at the clock's now: the cases past `retention.years` since closure, none on hold
 * 2. purge each in its own transaction (re-checked inside it), yielding between batches
 * 3. after each commit, delete the case's spool files; then sweep orphaned ones
 * 4. record the run (`retention.ran`, counts only); when it purged, VACUUM; checkpoint the WAL
 *    with TRUNCATE
 * `db` must be a connection with `secure_delete` on (`preparePurgeConnection`).
 */
export async function runRetention(deps: RetentionRunDeps): Promise<RetentionRunResult> {
  const { db, config, calendar, clock, log } = deps;
  const years = config.retention.years;
  const plan = retentionPlanAt(db, config, calendar, clock.now());
  const total = plan.due.length;
  const result: RetentionRunResult = {
    policyYears: years,
    purged: 0,
    held: plan.held.length,
    messages: 0,
    outboxRows: 0,
    spoolFiles: 0,
    orphanFiles: 0,
    purgedIds: [],
    heldIds: plan.held.map((v) => v.id),
    checkpointBusy: false,
  };
  for (const [i, verdict] of plan.due.entries()) {
    const done = purgeCase(db, clock, verdict, years);
    if (done !== null) {
      result.purged += 1;
      result.purgedIds.push(done.caseId);
      result.messages += done.messages;
      result.outboxRows += done.outboxRows;
      for (const file of done.spoolFiles) result.spoolFiles += await removeSpoolFile(file, log);
    }
    deps.progress?.(i + 1, total);
    if ((i + 1) % BATCH === 0) {
      log.info({ event: 'retention.progress', done: i + 1, total }, 'retention purge in progress');
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  result.orphanFiles = await sweepOrphans(db, spoolDirOf(config), log);
  const summary: RetentionRunSummary = {
    policyYears: years,
    purged: result.purged,
    held: result.held,
    messages: result.messages,
    outboxRows: result.outboxRows,
    spoolFiles: result.spoolFiles,
    orphanFiles: result.orphanFiles,
  };
  recordRetentionRun(db, clock, summary);
  result.checkpointBusy = compactAfterPurge(db, { vacuum: result.purged > 0 }).busy;
  log.info(
    { event: 'retention.ran', ...summary, checkpointBusy: result.checkpointBusy },
    'retention run finished',
  );
  return result;
}

/**
 * The retention role (issue #13): a BullMQ job scheduler runs the purge daily at
 * `retention.run_at` in the calendar's zone. Nothing of it lives only in Redis: the scheduler is
 * re-created every `mailer.reconcile_interval_seconds`, and at start and on each of those ticks a
 * run is made up when the last recorded one (`retention.ran` in SQLite) is older than 25 hours
 * — so downtime or a Redis loss over the run time delays a purge, never skips it. The role purges
 * on its own connection with `secure_delete` on; several retention workers are safe (each case is
 * re-checked in its transaction), and in one process the runs never overlap.
 */
export function startRetention(deps: RoleDeps): RunningRole {
  const { config, log, clock } = deps;
  const db = openDatabase(config.database.path);
  preparePurgeConnection(db);
  const scheduler = createRetentionScheduler(config.redis);
  let running: Promise<void> | null = null;
  const run = (why: 'scheduled' | 'catch-up'): Promise<void> => {
    running ??= (async () => {
      try {
        log.info({ event: 'retention.started', why }, 'retention run started');
        await runRetention({ db, config, calendar: deps.calendar, clock, log });
      } finally {
        running = null;
      }
    })();
    return running;
  };
  const worker = startWorker(config.redis, log, {
    queue: QUEUES.retention,
    role: 'retention',
    concurrency: 1,
    // A long purge holds the job; BullMQ renews the lock while it runs.
    lockDuration: 60_000,
    process: () => run('scheduled'),
  });
  const tick = async (): Promise<void> => {
    try {
      const last = lastRetentionRun(db);
      if (last === null || clock.now().getTime() - last.getTime() > CATCH_UP_AFTER_MS) await run('catch-up');
    } catch (err) {
      log.warn(
        { event: 'retention.failed', err: describeError(err) },
        'retention run failed; next tick retries',
      );
    }
    try {
      await scheduler.upsert(config.retention.run_at, config.calendar.time_zone);
    } catch (err) {
      log.warn({ event: 'retention.schedule-failed', err: describeError(err) }, 'next round retries');
    }
  };
  const stopTicking = repeat(tick, config.mailer.reconcile_interval_seconds);
  return {
    name: 'retention',
    async stop() {
      stopTicking();
      try {
        await worker.close();
      } finally {
        // Also after a worker that did not close in time: the rest is let go (its error names it).
        await scheduler.close();
        await running;
        db.close();
      }
    },
  };
}
