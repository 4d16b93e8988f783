import { createCalendar } from '../calendar/calendar.js';
import { openDatabase, openExisting, type Db } from '../7-cases/db.js';
import { migrate, migrationStatus, readMigrations } from '../7-cases/migrate.js';
import { countCases, countDeadlines, listCases, listDeadlines, showCase } from '../7-cases/queries.js';
import { printableConfig } from '../config/print.js';
import type { Config } from '../config/schema.js';
import { systemClock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { EXIT_FAILED, positive, withCaseDatabase } from './context.js';
import { formatChecks, migrationsDir, runDoctor } from './doctor.js';
import { readerVaultOf } from './records.js';
import { readableSubject } from '../7-cases/sealed-subject.js';
import { readAdvisoryShow } from '../7-cases/advisory-store.js';
import { formatCaseDetail, formatCaseList, formatDeadlines, formatRaci } from './format.js';

/** The bodies of the `psirt` commands (workers/cli.ts declares them); each writes its answer. */

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const json = (value: unknown): string => JSON.stringify(value, null, 2);

/** `psirt doctor`: one line per check; exit 1 when one fails. */
export async function doctor(cfg: Config, opts: { quick?: boolean; json?: boolean }): Promise<void> {
  const results = await runDoctor(cfg, { quick: opts.quick ?? false, clock: systemClock });
  out(opts.json ? json(results) : formatChecks(results));
  process.exitCode = results.every((r) => r.ok) ? 0 : EXIT_FAILED;
}

/** `psirt cases list`: newest first, with the next deadline; the real subject with the passphrase. */
export async function casesList(
  cfg: Config,
  opts: { all?: boolean; json?: boolean; limit: string },
): Promise<void> {
  const limit = positive(opts.limit, '--limit');
  const vault = await readerVaultOf(cfg);
  withCaseDatabase(cfg, (db) => {
    const rows = listCases(db, { open: !opts.all, limit }).map(({ subject_sealed, ...r }) => ({
      ...r,
      subject: readableSubject(vault, r.subject, subject_sealed),
    }));
    if (opts.json) {
      out(json(rows));
      return;
    }
    out(formatCaseList(rows, new Date(), createCalendar(cfg.calendar)));
    const total = countCases(db, { open: !opts.all });
    if (total > rows.length) {
      out(`… and ${total - rows.length} more ${opts.all ? '' : 'open '}cases (--limit ${total} shows all)`);
    }
  });
}

/** `psirt cases show <id>`: exit 1 when there is no such case; the real subject with the passphrase. */
export async function casesShow(cfg: Config, id: string, opts: { json?: boolean }): Promise<void> {
  const vault = await readerVaultOf(cfg);
  withCaseDatabase(cfg, (db) => {
    const found = showCase(db, id);
    if (found === null) {
      process.stderr.write(`psirt: no case ${id}\n`);
      process.exitCode = EXIT_FAILED;
      return;
    }
    const { subject_sealed: sealed, ...rest } = found.case;
    // The sealed advisory fields are shown opened (or "(sealed)") below, never as bytes.
    const row = Object.fromEntries(Object.entries(rest).filter(([k]) => k !== 'advisory_sealed'));
    const subject = readableSubject(
      vault,
      typeof row.subject === 'string' ? row.subject : '',
      sealed instanceof Uint8Array ? sealed : null,
    );
    const detail = { ...found, case: { ...row, subject }, advisory: readAdvisoryShow(db, vault, id) };
    out(opts.json ? json(detail) : formatCaseDetail(detail));
  });
}

/** `psirt deadlines`: open (or only late) deadlines, soonest first. */
export function deadlines(cfg: Config, opts: { late?: boolean; json?: boolean; limit: string }): void {
  const limit = positive(opts.limit, '--limit');
  const late = opts.late ?? false;
  withCaseDatabase(cfg, (db) => {
    const now = new Date();
    const rows = listDeadlines(db, { now, late, limit });
    const calendar = createCalendar(cfg.calendar);
    out(
      opts.json
        ? json(
            rows.map((r) => ({
              ...r,
              business_days_left:
                r.state === 'paused' ? null : calendar.businessDaysBetween(now, new Date(r.due_at)),
            })),
          )
        : formatDeadlines(rows, now, calendar, { late }),
    );
    const total = opts.json ? rows.length : countDeadlines(db, { now, late });
    if (total > rows.length) out(`… and ${total - rows.length} more (--limit ${total} shows all)`);
  });
}

/** `psirt raci`: the matrix and who holds each role. */
export function raci(cfg: Config, opts: { json?: boolean }): void {
  const staff = cfg.staff.map((m) => ({
    name: m.name,
    address: m.address,
    roles: m.roles,
    expertise: m.expertise,
  }));
  out(opts.json ? json({ raci: cfg.raci, staff }) : formatRaci(cfg));
}

/** `psirt config print`: the effective configuration, secrets redacted. */
export function configPrint(cfg: Config, opts: { json?: boolean }): void {
  out(printableConfig(cfg, opts.json ? 'json' : 'toml'));
}

/** `psirt migrate --status`: applied and pending migrations; changes nothing, creates nothing. */
function migrateStatus(path: string): void {
  const migrations = readMigrations(migrationsDir());
  const opened = openExisting(path);
  if (opened.state === 'missing') {
    out(`no database at ${path}: all ${migrations.length} migrations pending (psirt migrate creates it)`);
    return;
  }
  if (opened.state === 'unreadable') throw opened.error;
  try {
    const s = migrationStatus(opened.db, migrations);
    for (const a of s.applied) {
      out(`applied  ${String(a.version).padStart(4, '0')}_${a.name}.sql  ${a.applied_at}`);
    }
    for (const p of s.pending) out(`pending  ${p.file}`);
  } finally {
    opened.db.close();
  }
}

/** `psirt migrate [--status]`: exit 1 with one line when it fails. */
export function migrateCommand(cfg: Config, opts: { status?: boolean }): void {
  let db: Db | undefined;
  try {
    if (opts.status) {
      migrateStatus(cfg.database.path);
      return;
    }
    const migrations = readMigrations(migrationsDir());
    db = openDatabase(cfg.database.path);
    const applied = migrate(db, migrations, systemClock, (m) => out(`applied ${m.file}`));
    out(
      applied.length === 0
        ? `up to date (${migrations.length} migrations)`
        : `done: ${applied.length} applied`,
    );
  } catch (err) {
    process.stderr.write(`psirt: migrate failed: ${describeError(err)}\n`);
    process.exitCode = EXIT_FAILED;
  } finally {
    db?.close();
  }
}
