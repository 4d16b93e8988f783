import type { TokenSource } from '../src/core/oauth2.js';
import { createHash } from 'node:crypto';
import { constants, accessSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../src/config/schema.js';
import { startImapIntake, type FetchedRaw, type IntakeHandlers } from '../src/1-intake/imap-poller.js';
import { mailboxCensus } from '../src/1-intake/mailbox-census.js';
import {
  countMaildir,
  countMbox,
  readMaildir,
  readMbox,
  type ExportedMessage,
} from '../src/1-intake/mail-export.js';
import {
  abandonAdoptions,
  adoptedAny,
  beginAdoption,
  finishAdoption,
  openAdoptions,
  type Adoption,
  type AdoptionKind,
} from '../src/7-cases/adoption-store.js';
import type { Db } from '../src/7-cases/db.js';
import { pendingMessageIds } from '../src/7-cases/intake-store.js';
import { exitWith, EXIT_CONFIG, EXIT_FAILED, withCaseDatabase } from '../src/cli/context.js';
import { messageProgress } from '../src/cli/progress.js';
import type { Clock } from '../src/core/clock.js';
import { describeError } from '../src/core/errors.js';
import type { Logger } from '../src/core/log.js';
import type { Vault } from '../src/core/vault.js';
import { spoolDirFor } from '../src/core/paths.js';
import type { MailerQueue } from '../src/jobs/queues.js';
import { createPipeline } from '../src/pipeline.js';
import { openService } from './start.js';

export interface ImportOptions {
  mbox?: string;
  maildir?: string;
  none?: boolean;
  json?: boolean;
}

/** The import enqueues nothing: it writes no outbox row but its summary, which the service sends. */
const NO_MAILER = {
  enqueue: () => Promise.resolve(),
  close: () => Promise.resolve(),
} as unknown as MailerQueue;

/**
 * `psirt import` (issue #15): records the mail already in `imap.mailbox` (or an mbox / Maildir
 * export) as history, through the same decode → classify → case pipeline as the intake, in its
 * historical mode: original dates, no outbox row, staff commands recorded not applied, deadlines
 * historical. Resumable: each message commits with its dedupe keys ((UIDVALIDITY, UID) or export
 * position, and sha256), and the import's row stays open until it finished, so a rerun after a
 * kill skips what committed. IMAP copies move to `imap.processed_folder` only after their commit
 * (invariant 2), and the intake checkpoint ends past them: `psirt start` answers only later mail.
 * Ends with one summary row in the outbox for the security staff (the running service sends it).
 */
export async function runImport(
  config: Config,
  opts: ImportOptions,
  clock: Clock,
  log: Logger,
): Promise<void> {
  const sources = [opts.mbox, opts.maildir, opts.none ? 'none' : undefined].filter((x) => x !== undefined);
  if (sources.length > 1) exitWith(EXIT_CONFIG, 'use one of --mbox, --maildir and --none');
  // A missing or unmigrated database says what to run, like every other command.
  withCaseDatabase(config, () => undefined);
  const kind: AdoptionKind = opts.none ? 'none' : opts.mbox ? 'mbox' : opts.maildir ? 'maildir' : 'imap';
  const path = opts.mbox ?? opts.maildir;
  const source = path === undefined ? config.imap.mailbox : resolve(path);
  // Nothing is recorded for a source that cannot be read (issue #15 trial: a mistyped path left
  // an open import behind that blocked `psirt start`).
  if (kind === 'mbox' || kind === 'maildir') checkExport(kind, source);
  // Per-message lines are for the service; the import prints progress and a summary.
  const quiet = log.child(
    { component: 'import' },
    { level: log.isLevelEnabled('debug') ? log.level : 'warn' },
  );
  const { db, shared } = await openService(config, clock, quiet);
  const t0 = Date.now();
  try {
    if (kind === 'none') {
      const open = openAdoptions(db);
      const abandoned = open.length === 0 ? [] : abandonAdoptions(db, clock, config);
      if (open.length === 0) finishAdoption(db, clock, config, beginAdoption(db, clock, 'none', source).id);
      const closed =
        abandoned.length === 0
          ? ''
          : `closed the unfinished import(s) ${abandoned.map((a) => `${a.kind} ${a.source}`).join(', ')} as abandoned (the ${String(abandoned.reduce((n, a) => n + a.cases_created, 0))} case(s) they created stay as history; mail they did not reach is answered as new); `;
      report(
        opts,
        `${closed}recorded that the mail in ${source} is answered as new (no import); \`psirt start\` now starts`,
        {
          kind,
          source,
          abandoned: abandoned.map((a) => ({
            kind: a.kind,
            source: a.source,
            casesCreated: a.cases_created,
          })),
        },
      );
      return;
    }
    if (kind === 'imap') await checkImap(config, source, shared.tokens ?? null);
    const before = beginAdoption(db, clock, kind, source);
    const pipeline = createPipeline({
      ...shared,
      log: quiet,
      mailer: NO_MAILER,
      historical: { adoptionId: before.id },
    });
    const run = { skipped: 0, failed: 0 };
    const pending =
      kind === 'imap'
        ? await importImap(config, db, pipeline, quiet, shared.vault, run, shared.tokens ?? null)
        : await importExport(config, db, pipeline, kind, source, run);
    const elapsed = Math.round((Date.now() - t0) / 1000);
    if (run.failed > 0) {
      exitWith(
        EXIT_FAILED,
        `import of ${source} not finished: ${run.failed} message(s) of the export could not be stored; run \`psirt import\` again (nothing was sent)`,
      );
    }
    if (pending > 0) {
      exitWith(
        EXIT_FAILED,
        `import of ${source} not finished: ${pending} message(s) could not be processed yet; run \`psirt import\` again (nothing was sent)`,
      );
    }
    const after = finishAdoption(db, clock, config, before.id);
    const delta = {
      casesCreated: after.cases_created - before.cases_created,
      followUps: after.follow_ups - before.follow_ups,
      quarantined: after.quarantined - before.quarantined,
      other: after.other - before.other,
    };
    const line =
      `imported ${source} as history in ${elapsed} s: ${delta.casesCreated} case(s) created, ` +
      `${delta.followUps} follow-up(s) threaded, ${delta.quarantined} quarantined, ${delta.other} other ` +
      `(staff mail, auto-replies, duplicates), ${run.skipped} skipped as already imported` +
      (after.runs > 1 ? `; over ${after.runs} runs: ${totals(after)}` : '') +
      (adoptedAny(after)
        ? '; no mail sent, one summary queued for the security staff (the running service sends it)'
        : '; nothing to import, no mail sent, no summary queued');
    report(opts, line, {
      kind,
      source,
      seconds: elapsed,
      ...delta,
      skipped: run.skipped,
      runs: after.runs,
      adoption: totalsOf(after),
    });
  } catch (err) {
    exitWith(
      EXIT_FAILED,
      `import of ${source} failed: ${describeError(err)}; run \`psirt import\` again to resume`,
    );
  } finally {
    db.close();
  }
}

/** An export that cannot be read stops the import before anything is recorded (exit 1, the path). */
function checkExport(kind: 'mbox' | 'maildir', source: string): void {
  try {
    const st = statSync(source);
    if (kind === 'mbox' && !st.isFile()) throw new Error('not a file');
    if (kind === 'maildir' && !st.isDirectory()) throw new Error('not a directory');
    accessSync(source, kind === 'mbox' ? constants.R_OK : constants.R_OK | constants.X_OK);
  } catch (err) {
    exitWith(
      EXIT_FAILED,
      `cannot read the ${kind} export ${source}: ${describeError(err)}; nothing was recorded`,
    );
  }
}

/** The configured mailbox must answer before a first import of it is recorded. */
async function checkImap(config: Config, source: string, tokens: TokenSource | null): Promise<void> {
  const oauth2 =
    config.imap.auth === 'oauth2' && tokens !== null ? { tokens, mechanism: config.oauth2.mechanism } : null;
  try {
    await mailboxCensus(config.imap, new Date(), oauth2);
  } catch (err) {
    exitWith(EXIT_FAILED, `cannot read the mailbox ${source}: ${describeError(err)}; nothing was recorded`);
  }
}

function totalsOf(a: Adoption): Record<string, number> {
  return {
    casesCreated: a.cases_created,
    followUps: a.follow_ups,
    quarantined: a.quarantined,
    other: a.other,
  };
}

function totals(a: Adoption): string {
  return `${a.cases_created} case(s), ${a.follow_ups} follow-up(s), ${a.quarantined} quarantined, ${a.other} other`;
}

function report(opts: ImportOptions, line: string, json: Record<string, unknown>): void {
  process.stdout.write(opts.json ? `${JSON.stringify(json)}\n` : `psirt: ${line}\n`);
}

/**
 * The configured mailbox, through the intake's own poller (the same fetch, dedupe, move-after-
 * commit and checkpoint as `psirt start`), one sync round and as many more as stored mail is left
 * to retry (up to intake.max_attempts, after which it is quarantined). Returns what is left.
 */
async function importImap(
  config: Config,
  db: Db,
  pipeline: IntakeHandlers,
  log: Logger,
  vault: Vault,
  run: { skipped: number },
  tokens: TokenSource | null,
): Promise<number> {
  const oauth2 =
    config.imap.auth === 'oauth2' && tokens !== null ? { tokens, mechanism: config.oauth2.mechanism } : null;
  const census = await mailboxCensus(config.imap, new Date(), oauth2);
  const progress = messageProgress('import', census.total);
  let done = 0;
  let firstRound = true;
  // Committed by an earlier run: only the move is left.
  const countSkipped = (msg: FetchedRaw): void => {
    const stored = db
      .prepare('SELECT state FROM messages WHERE sha256 = ? OR (mailbox = ? AND uidvalidity = ? AND uid = ?)')
      .get(msg.sha256, msg.mailbox, msg.uidvalidity, msg.uid) as { state: string } | undefined;
    if (stored !== undefined && stored.state !== 'received') run.skipped += 1;
  };
  const handlers: IntakeHandlers = {
    ...pipeline,
    unfiled(uidvalidity) {
      const left = pipeline.unfiled(uidvalidity);
      if (firstRound) {
        // Committed by an earlier run, killed before the move: only the move is left.
        run.skipped += left.length;
        done += left.length;
        progress.tick(done);
      }
      firstRound = false;
      return left;
    },
    async handle(msg: FetchedRaw) {
      countSkipped(msg);
      const filed = await pipeline.handle(msg);
      done += 1;
      progress.tick(done);
      return filed;
    },
  };
  const handleBatch = pipeline.handleBatch?.bind(pipeline);
  if (handleBatch !== undefined)
    handlers.handleBatch = async (msgs) => {
      for (const msg of msgs) countSkipped(msg);
      const filed = await handleBatch(msgs);
      done += msgs.length;
      progress.tick(done);
      return filed;
    };
  const spoolDir = spoolDirFor(config.database.path);
  const intake = startImapIntake(config.imap, handlers, { spoolDir, vault, log, oauth2 });
  try {
    await intake.synced();
    for (let round = 0; round < config.intake.max_attempts && pendingMessageIds(db).length > 0; round++)
      await intake.synced();
  } finally {
    await intake.stop();
    progress.stop();
  }
  return pendingMessageIds(db).length;
}

/**
 * An mbox or Maildir export, streamed message by message: each is stored and applied as the
 * intake would (position = its index in the export, dedupe also by sha256, so a rerun skips
 * what committed), then stored mail left to retry is retried up to intake.max_attempts times.
 * Returns what is left.
 */
async function importExport(
  config: Config,
  db: Db,
  pipeline: IntakeHandlers,
  kind: 'mbox' | 'maildir',
  source: string,
  run: { skipped: number; failed: number },
): Promise<number> {
  const total = kind === 'mbox' ? await countMbox(source) : await countMaildir(source);
  const progress = messageProgress('import', total);
  const mailbox = `${kind}:${source}`;
  // An export's order is no identity (a Maildir gains and renames files, a re-export reorders an
  // mbox): a message is known by its bytes alone, and a new one gets the next free number.
  const stored = db.prepare('SELECT uid, state FROM messages WHERE sha256 = ?');
  const unstored = new Set<string>();
  const nextUid = db.prepare(
    "SELECT coalesce(max(uid), 0) + 1 AS uid FROM messages WHERE mailbox = ? AND uidvalidity = '0'",
  );
  try {
    await pipeline.resumePending();
    const messages: AsyncIterable<ExportedMessage> = kind === 'mbox' ? readMbox(source) : readMaildir(source);
    let done = 0;
    for await (const m of messages) {
      const sha256 = createHash('sha256').update(m.raw).digest('hex');
      const row = stored.get(sha256) as { uid: number; state: string } | undefined;
      if (row !== undefined && row.state !== 'received') {
        run.skipped += 1;
      } else {
        const msg: FetchedRaw = {
          mailbox,
          uidvalidity: '0',
          uid: row?.uid ?? (nextUid.get(mailbox) as { uid: number }).uid,
          size: m.raw.length,
          internalDate: m.recordedAt,
          raw: m.raw,
          rawPath: null,
          sha256,
        };
        try {
          await pipeline.handle(msg);
        } catch (err) {
          unstored.add(sha256);
          process.stderr.write(
            `psirt: message ${m.index} of the export not processed yet: ${describeError(err)}\n`,
          );
        }
      }
      done += 1;
      progress.tick(done);
    }
    for (let round = 0; round < config.intake.max_attempts && pendingMessageIds(db).length > 0; round++)
      await pipeline.resumePending();
  } finally {
    progress.stop();
  }
  // A message stored but not yet applied is pending (retried); one that could not even be stored
  // is in no table at all: it keeps the adoption open, never a "finished" import without it.
  run.failed = [...unstored].filter((sha) => stored.get(sha) === undefined).length;
  return pendingMessageIds(db).length;
}
