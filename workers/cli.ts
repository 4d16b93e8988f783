#!/usr/bin/env node
import { Command, Option } from 'commander';
import { configOrExit, EXIT_CONFIG, EXIT_FAILED } from '../src/cli/context.js';
import type { AdvisoryOptions } from '../src/cli/advisory.js';
import type { EvidenceOptions } from '../src/cli/evidence.js';
import type { RetentionOptions } from '../src/cli/retention.js';
import type { HoldOptions } from '../src/cli/hold.js';
import type { VerifyOptions } from '../src/cli/verify.js';
import { recordServiceConfig } from '../src/config/load.js';
import { systemClock } from '../src/core/clock.js';
import { describeError } from '../src/core/errors.js';
import { createLogger } from '../src/core/log.js';
import { packageVersion } from '../src/core/paths.js';
import { ROLES, type Role } from '../src/roles/roles.js';
import { AdoptionNeeded } from '../src/roles/adoption.js';
import type { ImportOptions } from './import.js';

// #16: each command loads only the modules it runs, so `psirt start` does not carry the CSAF
// validator, tar, the evidence pack and the rest in memory (and a short command starts faster).
const run = () => import('../src/cli/commands.js');

/** The `psirt` bin: the commands and their options; their bodies are in src/cli/commands.ts. */

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

const configFile = (): string | undefined => program.opts<{ config?: string }>().config;
// `start` is the one command that starts something; every other one does nothing on a bad config.
const config = (what = 'nothing done') => configOrExit(configFile(), what);

program
  .command('start')
  .description('run the service: intake, mailer, escalation and retention roles in this process')
  .addOption(new Option('--role <role...>', 'run only these roles').choices([...ROLES]))
  .action(async (opts: { role?: Role[] }) => {
    const cfg = config('not starting');
    const log = createLogger(cfg.log.level);
    try {
      // For the container HEALTHCHECK: the same configuration file as this service (PSIRT_RUN_DIR).
      const recorded = recordServiceConfig({ file: configFile() });
      if (recorded !== null)
        log.info({ event: 'service.config-recorded', file: recorded }, 'configuration recorded');
      const { runService } = await import('./start.js');
      // Exit once stopped: with Redis down, BullMQ and ioredis keep retry timers after their
      // close, and a role that did not stop in time may hold a socket (logged, exit 1).
      const stopped = await runService(cfg, opts.role ?? ROLES, systemClock, log);
      process.exit(stopped ? 0 : EXIT_FAILED);
    } catch (err) {
      log.fatal({ event: 'service.failed', err: describeError(err) }, 'psirt-inbox could not start');
      process.stderr.write(`psirt: ${describeError(err)}\n`);
      // Old mail to adopt is operator action, not a crash: exit 2, which systemd does not
      // restart (RestartPreventExitStatus=2, issue #15 trial).
      process.exit(err instanceof AdoptionNeeded ? EXIT_CONFIG : EXIT_FAILED);
    }
  });

program
  .command('import')
  .description(
    'record the mail already in imap.mailbox (or an --mbox / --maildir export) as history: cases with their original dates, no acknowledgment, no notification, historical deadlines; resumable; one summary to the security staff',
  )
  .option('--mbox <file>', 'import an mbox export instead (mboxrd/mboxo)')
  .option('--maildir <dir>', 'import a Maildir export instead (cur/ and new/)')
  .option('--none', 'import nothing: record that the mail in imap.mailbox is to be answered as new')
  .option('--json', 'print what was done as JSON')
  .action(async (opts: ImportOptions) => {
    const cfg = config('nothing imported');
    const { runImport } = await import('./import.js');
    await runImport(cfg, opts, systemClock, createLogger(cfg.log.level));
  });

program
  .command('doctor')
  .description('check the configuration, SQLite, IMAP, SMTP, Redis and the team keys; one line each')
  .option('--quick', 'only the database and the running roles (for a container HEALTHCHECK)')
  .option('--json', 'print the results as JSON')
  .action(async (opts: { quick?: boolean; json?: boolean }) =>
    (await run()).doctor(config('nothing checked'), opts),
  );

/** The last options of a listing command. */
const listing = (cmd: Command): Command =>
  cmd.option('--limit <n>', 'show at most this many (default 1000)', '1000').option('--json', 'print JSON');

const casesCmd = program.command('cases').description('inspect cases');
listing(
  casesCmd
    .command('list')
    .description('cases, newest first, with their next deadline and the business time left')
    .option('--all', 'include closed cases'),
).action(async (opts: { all?: boolean; json?: boolean; limit: string }) =>
  (await run()).casesList(config(), opts),
);
casesCmd
  .command('show <id>')
  .description('one case: timeline, messages, flags, keys, outbox')
  .option('--json', 'print JSON')
  .action(async (id: string, opts: { json?: boolean }) => (await run()).casesShow(config(), id, opts));

program
  .command('advisory <id>')
  .description(
    'render the advisory of a case (now, or a frozen --revision/--draft) as CSAF 2.0, OSV, CVE JSON 5 or Markdown, validated; says what is missing',
  )
  .requiredOption('--format <format>', 'csaf, osv, cve or markdown')
  .option('--revision <n>', 'the published revision n')
  .option('--draft <n>', 'the draft n sent to the reporter')
  .option('--out <file>', 'write to this file (mode 0600) instead of stdout')
  .action(async (id: string, opts: AdvisoryOptions) =>
    (await import('../src/cli/advisory.js')).advisory(config(), id, opts),
  );
program
  .command('hold <id>')
  .description(
    'put a case on legal hold (as /hold does): deadlines, escalations and the retention purge stand still; the reason is recorded',
  )
  .requiredOption('--reason <text>', 'why the case is held (one line; shown in cases show and the evidence)')
  .requiredOption('--as <address>', 'the staff member acting: one the RACI matrix lets run /hold')
  .action(async (id: string, opts: HoldOptions) =>
    (await import('../src/cli/hold.js')).hold(config(), id, opts),
  );
program
  .command('unhold <id>')
  .description('release the legal hold of a case (as /unhold does)')
  .requiredOption('--as <address>', 'the staff member acting: one the RACI matrix lets run /unhold')
  .action(async (id: string, opts: HoldOptions) =>
    (await import('../src/cli/hold.js')).unhold(config(), id, opts),
  );

listing(
  program
    .command('deadlines')
    .description(
      'open deadlines across cases, soonest first, with business time left and the next escalation',
    )
    .option('--late', 'only deadlines already missed'),
).action(async (opts: { late?: boolean; json?: boolean; limit: string }) =>
  (await run()).deadlines(config(), opts),
);

program
  .command('raci')
  .description('the RACI matrix: who is responsible and accountable for each activity, and its commands')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => (await run()).raci(config(), opts));

program
  .command('program')
  .description(
    'render the ISO/IEC 18974 program documents (security.txt signed, SECURITY.md, procedure, roles, staffing, expertise, RACI, HTML book) into a folder',
  )
  .requiredOption('--out <dir>', 'folder to write into (created if missing; files overwritten)')
  .option('--json', 'print the written files with their SHA-256 as JSON')
  .action(async (opts: { out: string; json?: boolean }) =>
    (await import('../src/cli/program.js')).program(config(), opts),
  );

const configCmd = program.command('config').description('inspect the configuration');
configCmd
  .command('print')
  .description('print the effective configuration, secrets redacted')
  .option('--json', 'as JSON instead of TOML')
  .action(async (opts: { json?: boolean }) => (await run()).configPrint(config(), opts));

program
  .command('migrate')
  .description('apply pending database migrations (start does this too)')
  .option('--status', 'list applied and pending migrations, change nothing')
  .action(async (opts: { status?: boolean }) => (await run()).migrateCommand(config(), opts));

program
  .command('seal')
  .description(
    'seal what a version before sealing stored in clear (raw mail, spool files, subjects); needs the team key passphrase; resumable',
  )
  .option('--json', 'print the counts as JSON')
  .action(async (opts: { json?: boolean }) => (await import('../src/cli/records.js')).seal(config(), opts));

program
  .command('rewrap')
  .description(
    'wrap every data key the configured team keys open to the signing key (the first), so a retired key can leave pgp.keys',
  )
  .option('--json', 'print what was done as JSON')
  .action(async (opts: { json?: boolean }) => (await import('../src/cli/records.js')).rewrap(config(), opts));

program
  .command('verify')
  .description(
    "check every case's event hash chain and the chain heads of the evidence archives; exit 1 naming the first broken case",
  )
  .option(
    '--archive <file.tar.gz>',
    'also check a signed evidence archive (signature, every file, no extra file) and hold the database to the chain heads it recorded (repeatable)',
    (file: string, prev: string[] | undefined) => [...(prev ?? []), file],
  )
  .option('--json', 'print the per-case verdicts as JSON')
  .action(async (opts: VerifyOptions) =>
    (await import('../src/cli/verify.js')).verify(config('nothing verified'), opts),
  );

program
  .command('retention')
  .description(
    'purge the content of cases closed longer than retention.years ago (never one on hold), keeping a tombstone; --dry-run lists them first',
  )
  .option('--dry-run', 'list what the next run would purge and why, and what a hold keeps; change nothing')
  .option('--json', 'print the result as JSON')
  .action(async (opts: RetentionOptions) =>
    (await import('../src/cli/retention.js')).retention(
      config(opts.dryRun ? 'nothing done' : 'nothing purged'),
      opts,
    ),
  );

program
  .command('evidence')
  .description(
    'write the evidence archive of an audit period: per-case stages met or missed, SLA summary, chain verification, program documents, signed manifest',
  )
  .requiredOption('--from <date>', 'first day of the period, YYYY-MM-DD in the calendar zone (inclusive)')
  .requiredOption('--to <date>', 'last day of the period, YYYY-MM-DD in the calendar zone (inclusive)')
  .option('--out <file>', 'the archive to write (default psirt-evidence-<from>-<to>.tar.gz here)')
  .option('--include-subjects', "include the cases' subjects (they may hold a reporter's words)")
  .option('--json', 'print what was written as JSON')
  .action(async (opts: EvidenceOptions) => {
    const [{ evidence }, { renderProgram }] = await Promise.all([
      import('../src/cli/evidence.js'),
      import('../src/program/render.js'),
    ]);
    await evidence(config(), opts, {
      // A configuration as it ran is documented even when it rendered no valid security.txt.
      renderProgram: (input) => renderProgram(input, { securityTxt: 'when-valid' }),
    });
  });

program
  .command('backup <dir>')
  .description(
    'copy the records while the service runs: the database (SQLite online backup), the spool files it references, manifest.json with SHA-256 sums; <dir> must be new or empty',
  )
  .action(async (dir: string) =>
    (await import('../src/cli/backup.js')).backup(config('nothing backed up'), dir, { clock: systemClock }),
  );

program
  .command('restore <dir>')
  .description(
    'restore a backup into an empty data folder (database.path must not exist): checks every file, the migrations and every hash chain first; writes nothing on a mismatch',
  )
  .action(async (dir: string) =>
    (await import('../src/cli/restore.js')).restore(config('nothing restored'), dir, { clock: systemClock }),
  );

await program.parseAsync(process.argv);
