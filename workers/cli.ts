#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { packageRoot } from '../src/core/paths.js';
import { ConfigError, loadConfig, recordServiceConfig } from '../src/config/load.js';
import { printableConfig } from '../src/config/print.js';
import type { Config } from '../src/config/schema.js';
import { openDatabase, type Db } from '../src/cases/db.js';
import { migrate, migrationStatus, readMigrations } from '../src/cases/migrate.js';
import { systemClock } from '../src/core/clock.js';
import { describeError } from '../src/core/errors.js';
import { createLogger } from '../src/core/log.js';
import { formatChecks, migrationsDir, runDoctor } from '../src/doctor.js';
import { countCases, countDeadlines, listCases, listDeadlines, showCase } from '../src/cases/queries.js';
import { formatCaseDetail, formatCaseList, formatDeadlines, formatRaci } from './cases-cli.js';
import { createCalendar } from '../src/calendar/calendar.js';
import { ROLES, type Role } from '../src/roles/roles.js';
import { runService } from './start.js';

/** Exit codes: 0 ok, 1 a check or the service failed, 2 bad usage or invalid configuration. */
const EXIT_FAILED = 1;
const EXIT_CONFIG = 2;

function config(program: Command, what = 'not starting'): Config {
  const opts = program.opts<{ config?: string }>();
  try {
    return loadConfig(opts.config === undefined ? {} : { file: opts.config });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(
        `psirt: invalid configuration, ${what}:\n${err.issues.map((i) => `  ${i}`).join('\n')}\n`,
      );
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
}

/**
 * The database for a command that reads cases, opened read-only. A missing or unmigrated file
 * ends the command with exit 1 and one line naming what to run — never a stack trace, and never
 * an empty database made as a side effect (issue #10).
 */
function existingDatabase(cfg: Config): Db {
  const path = cfg.database.path;
  const stop = (why: string): never => {
    process.stderr.write(`psirt: ${why}\n`);
    process.exit(EXIT_FAILED);
  };
  if (path !== ':memory:' && !existsSync(path)) {
    stop(`no database at ${path}: run "psirt migrate" (or start the service or the demo) first`);
  }
  let db: Db | undefined;
  try {
    db = openDatabase(path, { readonly: true });
    const { pending } = migrationStatus(db, readMigrations(migrationsDir()));
    if (pending.length > 0) {
      db.close();
      stop(
        `the database at ${path} is not migrated (${pending.length} migration(s) pending): run "psirt migrate" first`,
      );
    }
    return db;
  } catch (err) {
    db?.close();
    return stop(`cannot read the database at ${path}: ${describeError(err)}`);
  }
}

/** A whole number ≥ 1 from an option, or exit 2 naming the option. */
function positive(value: string, name: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) {
    process.stderr.write(`psirt: ${name} must be a whole number ≥ 1 (got "${value}")\n`);
    process.exit(EXIT_CONFIG);
  }
  return n;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

const program = new Command('psirt')
  .description('psirt-inbox: runs the security@ mailbox as a coordinated vulnerability disclosure desk')
  .option('-c, --config <file>', 'configuration file layered over config/default.toml (or PSIRT_CONFIG)')
  .version(packageVersion(), '-V, --version')
  .showHelpAfterError()
  .addHelpText(
    'after',
    '\nEnvironment: PSIRT_ENV selects config/<name>.toml; PSIRT_<SECTION>__<KEY>[_FILE] overrides any key.\nExit codes: 0 ok, 1 failure, 2 invalid configuration or usage.',
  );
program.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_CONFIG));

program
  .command('start')
  .description('run the service: intake, mailer and escalation roles in this process')
  .addOption(new Option('--role <role...>', 'run only these roles').choices([...ROLES]))
  .action(async (opts: { role?: Role[] }) => {
    const cfg = config(program);
    const log = createLogger(cfg.log.level);
    try {
      // For the container HEALTHCHECK: the same configuration file as this service (PSIRT_RUN_DIR).
      const recorded = recordServiceConfig({ file: program.opts<{ config?: string }>().config });
      if (recorded !== null)
        log.info({ event: 'service.config-recorded', file: recorded }, 'configuration recorded');
      await runService(cfg, opts.role ?? ROLES, systemClock, log);
    } catch (err) {
      log.fatal({ event: 'service.failed', err: describeError(err) }, 'psirt-inbox could not start');
      process.stderr.write(`psirt: ${describeError(err)}\n`);
      process.exit(EXIT_FAILED);
    }
  });

program
  .command('doctor')
  .description('check the configuration, SQLite, IMAP, SMTP, Redis and the team keys; one line each')
  .option('--quick', 'only the database and the running roles (for a container HEALTHCHECK)')
  .option('--json', 'print the results as JSON')
  .action(async (opts: { quick?: boolean; json?: boolean }) => {
    const cfg = config(program, 'nothing checked');
    const results = await runDoctor(cfg, { quick: opts.quick ?? false, clock: systemClock });
    process.stdout.write(opts.json ? `${JSON.stringify(results, null, 2)}\n` : `${formatChecks(results)}\n`);
    process.exitCode = results.every((r) => r.ok) ? 0 : EXIT_FAILED;
  });

const casesCmd = program.command('cases').description('inspect cases');
casesCmd
  .command('list')
  .description('cases, newest first, with their next deadline and the business time left')
  .option('--all', 'include closed cases')
  .option('--limit <n>', 'show at most this many (default 1000)', '1000')
  .option('--json', 'print JSON')
  .action((opts: { all?: boolean; json?: boolean; limit: string }) => {
    const cfg = config(program);
    const limit = positive(opts.limit, '--limit');
    const db = existingDatabase(cfg);
    try {
      const rows = listCases(db, { open: !opts.all, limit });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${formatCaseList(rows, new Date(), createCalendar(cfg.calendar))}\n`);
      const total = countCases(db, { open: !opts.all });
      if (total > rows.length) {
        process.stdout.write(
          `… and ${total - rows.length} more ${opts.all ? '' : 'open '}cases (--limit ${total} shows all)\n`,
        );
      }
    } finally {
      db.close();
    }
  });
casesCmd
  .command('show <id>')
  .description('one case: timeline, messages, flags, keys, outbox')
  .option('--json', 'print JSON')
  .action((id: string, opts: { json?: boolean }) => {
    const cfg = config(program);
    const db = existingDatabase(cfg);
    try {
      const detail = showCase(db, id);
      if (detail === null) {
        process.stderr.write(`psirt: no case ${id}\n`);
        process.exitCode = EXIT_FAILED;
        return;
      }
      process.stdout.write(`${opts.json ? JSON.stringify(detail, null, 2) : formatCaseDetail(detail)}\n`);
    } finally {
      db.close();
    }
  });

program
  .command('deadlines')
  .description('open deadlines across cases, soonest first, with business time left and the next escalation')
  .option('--late', 'only deadlines already missed')
  .option('--limit <n>', 'show at most this many (default 1000)', '1000')
  .option('--json', 'print JSON')
  .action((opts: { late?: boolean; json?: boolean; limit: string }) => {
    const cfg = config(program);
    const limit = positive(opts.limit, '--limit');
    const db = existingDatabase(cfg);
    try {
      const now = new Date();
      const rows = listDeadlines(db, { now, late: opts.late ?? false, limit });
      const calendar = createCalendar(cfg.calendar);
      process.stdout.write(
        `${
          opts.json
            ? JSON.stringify(
                rows.map((r) => ({
                  ...r,
                  business_days_left:
                    r.state === 'paused' ? null : calendar.businessDaysBetween(now, new Date(r.due_at)),
                })),
                null,
                2,
              )
            : formatDeadlines(rows, now, calendar, { late: opts.late ?? false })
        }\n`,
      );
      const total = opts.json ? rows.length : countDeadlines(db, { now, late: opts.late ?? false });
      if (total > rows.length)
        process.stdout.write(`… and ${total - rows.length} more (--limit ${total} shows all)\n`);
    } finally {
      db.close();
    }
  });

program
  .command('raci')
  .description('the RACI matrix: who is responsible and accountable for each activity, and its commands')
  .option('--json', 'print JSON')
  .action((opts: { json?: boolean }) => {
    const cfg = config(program);
    process.stdout.write(
      `${opts.json ? JSON.stringify({ raci: cfg.raci, staff: cfg.staff.map((m) => ({ name: m.name, address: m.address, roles: m.roles, expertise: m.expertise })) }, null, 2) : formatRaci(cfg)}\n`,
    );
  });

const configCmd = program.command('config').description('inspect the configuration');
configCmd
  .command('print')
  .description('print the effective configuration, secrets redacted')
  .option('--json', 'as JSON instead of TOML')
  .action((opts: { json?: boolean }) => {
    process.stdout.write(`${printableConfig(config(program), opts.json ? 'json' : 'toml')}\n`);
  });

program
  .command('migrate')
  .description('apply pending database migrations (start does this too)')
  .option('--status', 'list applied and pending migrations, change nothing')
  .action((opts: { status?: boolean }) => {
    const cfg = config(program);
    let db: ReturnType<typeof openDatabase> | undefined;
    try {
      const migrations = readMigrations(migrationsDir());
      if (opts.status) {
        // --status changes nothing: it does not create the file either.
        if (cfg.database.path !== ':memory:' && !existsSync(cfg.database.path)) {
          process.stdout.write(
            `no database at ${cfg.database.path}: all ${migrations.length} migrations pending (psirt migrate creates it)\n`,
          );
          return;
        }
        db = openDatabase(cfg.database.path, { readonly: true });
        const s = migrationStatus(db, migrations);
        for (const a of s.applied) {
          process.stdout.write(
            `applied  ${String(a.version).padStart(4, '0')}_${a.name}.sql  ${a.applied_at}\n`,
          );
        }
        for (const p of s.pending) process.stdout.write(`pending  ${p.file}\n`);
        return;
      }
      db = openDatabase(cfg.database.path);
      const applied = migrate(db, migrations, systemClock, (m) =>
        process.stdout.write(`applied ${m.file}\n`),
      );
      process.stdout.write(
        applied.length === 0
          ? `up to date (${migrations.length} migrations)\n`
          : `done: ${applied.length} applied\n`,
      );
    } catch (err) {
      process.stderr.write(`psirt: migrate failed: ${describeError(err)}\n`);
      process.exitCode = EXIT_FAILED;
    } finally {
      db?.close();
    }
  });

await program.parseAsync(process.argv);
