import { caseProgress } from './progress.js';
import { createCalendar } from '../calendar/calendar.js';
import type { Config } from '../config/schema.js';
import { openDatabase, openExisting, type Db } from '../7-cases/db.js';
import { migrationStatus, readMigrations } from '../7-cases/migrate.js';
import { preparePurgeConnection } from '../7-cases/retention-store.js';
import { systemClock, type Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import type { RetentionPlan, RetentionVerdict } from '../policy/retention.js';
import { retentionPlanAt, runRetention } from '../roles/retention.js';
import { EXIT_FAILED, exitWith, withCaseDatabase } from './context.js';
import { migrationsDir } from './doctor.js';

export interface RetentionOptions {
  dryRun?: boolean;
  json?: boolean;
}

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

/** One due case of the plan as listed and printed as JSON. */
function listed(v: RetentionVerdict): Record<string, string | null> {
  return {
    id: v.id,
    closedAt: v.closedAt,
    closedOn: v.closedOn,
    resolution: v.resolution,
    keptUntil: v.keepUntil,
    purgeFrom: v.purgeFrom.toISOString(),
  };
}

/** The dry run as text: what the next run purges and why, and what a hold keeps. */
export function formatRetentionPlan(plan: RetentionPlan, zone: string): string {
  const policy = `policy: retention.years = ${String(plan.years)}, counted from closure in ${zone}`;
  const lines = [policy];
  if (plan.due.length === 0) lines.push('nothing to purge');
  else {
    lines.push(`${String(plan.due.length)} case(s) would be purged:`);
    const rows = plan.due.map((v) => [v.id, v.closedOn, v.resolution ?? '?', v.keepUntil]);
    const head = ['case', 'closed', 'resolution', 'kept until'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]): string =>
      cells
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd();
    lines.push(`  ${line(head)}`, ...rows.map((r) => `  ${line(r)}`));
    lines.push(`  (each closed more than ${String(plan.years)} years before today's date)`);
  }
  if (plan.held.length > 0)
    lines.push(
      `${String(plan.held.length)} case(s) past retention kept on legal hold: ${plan.held.map((v) => v.id).join(', ')}`,
    );
  return lines.join('\n');
}

/** The database opened for writing, only when it exists and is migrated (else exit 1 naming what to run). */
function openForPurge(cfg: Config): Db {
  const path = cfg.database.path;
  const opened = openExisting(path);
  if (opened.state !== 'open')
    exitWith(
      EXIT_FAILED,
      opened.state === 'missing'
        ? `no database at ${path}: run "psirt migrate" (or start the service) first`
        : `cannot read the database at ${path}: ${describeError(opened.error)}`,
    );
  const pending = migrationStatus(opened.db, readMigrations(migrationsDir())).pending.length;
  opened.db.close();
  if (pending > 0)
    exitWith(
      EXIT_FAILED,
      `the database at ${path} is not migrated (${String(pending)} migration(s) pending): run "psirt migrate" first`,
    );
  return openDatabase(path, { mustExist: true });
}

/**
 * `psirt retention [--dry-run]`: the dry run lists what the next run would purge and why, and
 * what a hold keeps; without it the purge runs now (progress on stderr, counts on stdout).
 */
export async function retention(
  cfg: Config,
  opts: RetentionOptions,
  clock: Clock = systemClock,
): Promise<void> {
  const calendar = createCalendar(cfg.calendar);
  if (opts.dryRun) {
    const plan = withCaseDatabase(cfg, (db) => retentionPlanAt(db, cfg, calendar, clock.now()));
    out(
      opts.json
        ? JSON.stringify(
            { policyYears: plan.years, due: plan.due.map(listed), held: plan.held.map((v) => v.id) },
            null,
            2,
          )
        : formatRetentionPlan(plan, calendar.zone),
    );
    return;
  }
  const db = openForPurge(cfg);
  const bar = caseProgress('retention', 100);
  try {
    preparePurgeConnection(db);
    const result = await runRetention({
      db,
      config: cfg,
      calendar,
      clock,
      log: createLogger('silent'),
      progress: bar.onCase,
    });
    bar.stop();
    const { purgedIds, heldIds, ...counts } = result;
    out(
      opts.json
        ? JSON.stringify({ ...counts, purged: purgedIds, held: heldIds }, null, 2)
        : [
            `purged ${String(result.purged)} case(s)${purgedIds.length > 0 ? `: ${purgedIds.join(', ')}` : ''}`,
            `  ${String(result.messages)} message(s), ${String(result.outboxRows)} outbox row(s), ${String(result.spoolFiles + result.orphanFiles)} spool file(s) removed`,
            ...(heldIds.length > 0 ? [`kept on legal hold: ${heldIds.join(', ')}`] : []),
            ...(result.checkpointBusy
              ? ['note: a reader kept the WAL from being truncated; the next run truncates it']
              : []),
          ].join('\n'),
    );
  } catch (err) {
    bar.stop();
    exitWith(EXIT_FAILED, `retention run failed: ${describeError(err)}`);
  } finally {
    db.close();
  }
}
