import cliProgress from 'cli-progress';
import type { Config } from '../config/schema.js';
import { openExisting, type Db } from '../7-cases/db.js';
import {
  backlogCounts,
  sealBacklog,
  spoolDirFor,
  type BacklogKind,
  type BacklogProgress,
} from '../7-cases/seal-backlog.js';
import { parseCaseIdFormat } from '../core/case-id.js';
import { systemClock, type Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { Vault } from '../core/vault.js';
import { loadTeamKeys, type TeamKey } from '../pgp/keyring.js';
import { openVault, rewrapDataKeys } from '../roles/vault.js';
import { EXIT_FAILED, exitWith, withWritableCaseDatabase } from './context.js';

/** `psirt seal` and `psirt rewrap` (#13), and the read-only vault of the CLI readers. */

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

/** The team keys, or exit 1 saying that this command needs them unlocked. */
async function teamKeysOrExit(cfg: Config, clock: Clock, what: string): Promise<TeamKey[]> {
  try {
    const keys = await loadTeamKeys(cfg.pgp, clock);
    if (keys.length === 0) exitWith(EXIT_FAILED, `${what} needs a team key: pgp.keys is empty, nothing done`);
    return keys;
  } catch (err) {
    return exitWith(
      EXIT_FAILED,
      `${what} needs the unlocked team key (its passphrase), nothing done: ${describeError(err)}`,
    );
  }
}

/**
 * The vault of a CLI reader (`cases show`, `cases list`, `evidence --include-subjects`): the data
 * keys the configured team keys open, read-only (`seal: false` — the CLI never creates a data
 * key). `Vault.none`-like (opens nothing) when the team key cannot be unlocked here: readers then
 * show `(sealed)` instead of failing.
 */
export async function readerVault(cfg: Config, db: Db, clock: Clock = systemClock): Promise<Vault> {
  let keys: TeamKey[];
  try {
    keys = await loadTeamKeys(cfg.pgp, clock);
  } catch (err) {
    // No passphrase here (an operator without it), or a wrong one: sealed subjects show as
    // "(sealed)", and stderr says why — a mistyped passphrase must not look like sealed data.
    process.stderr.write(`psirt: subjects shown as (sealed): ${describeError(err)}\n`);
    return new Vault(null);
  }
  return (await openVault(db, clock, keys, { seal: false })).vault;
}

/** `readerVault` on the configured database, opened and closed here; opens nothing when it cannot. */
export async function readerVaultOf(cfg: Config, clock: Clock = systemClock): Promise<Vault> {
  const opened = openExisting(cfg.database.path);
  // A missing or unreadable database: the command's own opening says so in one line.
  if (opened.state !== 'open') return new Vault(null);
  try {
    return await readerVault(cfg, opened.db, clock);
  } catch {
    // An unmigrated database (no seal_keys): the command says to migrate; subjects read "(sealed)".
    return new Vault(null);
  } finally {
    opened.db.close();
  }
}

const LABEL: Readonly<Record<BacklogKind, string>> = {
  raw: 'raw mails',
  spool: 'spool files',
  subjects: 'case subjects',
  outbox: 'outbox subjects',
};

/** Progress on stderr: a bar per kind on a terminal, otherwise a line every 500 records and at the end. */
function progress(): { on: (p: BacklogProgress) => void; stop: () => void } {
  if (process.stderr.isTTY) {
    let bar: cliProgress.SingleBar | null = null;
    let kind: BacklogKind | null = null;
    const stop = (): void => {
      bar?.stop();
      bar = null;
    };
    return {
      on: (p) => {
        if (kind !== p.kind) {
          stop();
          kind = p.kind;
          bar = new cliProgress.SingleBar(
            { stream: process.stderr, format: `seal ${LABEL[p.kind]} [{bar}] {value}/{total}` },
            cliProgress.Presets.shades_classic,
          );
          bar.start(p.total, 0);
        }
        bar?.update(p.done);
      },
      stop,
    };
  }
  let last = 0;
  return {
    on: (p) => {
      if (p.done === p.total || p.done - last >= 500) {
        last = p.done === p.total ? 0 : p.done;
        process.stderr.write(`psirt: sealing ${LABEL[p.kind]} ${String(p.done)}/${String(p.total)}\n`);
      }
    },
    stop: () => undefined,
  };
}

const countOf = (c: Record<BacklogKind, number>): number => c.raw + c.spool + c.subjects + c.outbox;

const summary = (c: Record<BacklogKind, number>): string =>
  (Object.keys(LABEL) as BacklogKind[]).map((k) => `${String(c[k])} ${LABEL[k]}`).join(', ');

/**
 * `psirt seal`: seals what a version before #13 stored in clear (the intake does the same at
 * start). Needs the team key unlocked; creates the data key if the service never did.
 */
export async function seal(cfg: Config, opts: { json?: boolean }, clock: Clock = systemClock): Promise<void> {
  const keys = await teamKeysOrExit(cfg, clock, 'psirt seal');
  await withWritableCaseDatabase(cfg, async (db) => {
    const spoolDir = spoolDirFor(cfg.database.path);
    const { vault } = await openVault(db, clock, keys, { seal: true });
    const bar = progress();
    let result: ReturnType<typeof sealBacklog>;
    try {
      result = sealBacklog(db, vault, {
        spoolDir,
        caseIdPattern: parseCaseIdFormat(cfg.cases.id_format).pattern,
        onProgress: bar.on,
      });
    } catch (err) {
      bar.stop();
      exitWith(EXIT_FAILED, `sealing stopped (run psirt seal again to go on): ${describeError(err)}`);
    }
    bar.stop();
    const left = backlogCounts(db, spoolDir);
    if (opts.json) {
      out(JSON.stringify({ sealed: result.sealed, left, walTruncated: result.walTruncated }, null, 2));
      return;
    }
    const total = countOf(result.sealed);
    out(total === 0 ? 'nothing in clear: every record is sealed' : `sealed ${summary(result.sealed)}`);
    if (!result.walTruncated)
      out('note: a reader kept the WAL from being truncated; run psirt seal again when the service is idle');
    if (countOf(left) > 0) {
      out(`still in clear: ${summary(left)}`);
      process.exitCode = EXIT_FAILED;
    }
  });
}

/**
 * `psirt rewrap`: wraps every data key the configured team keys open to the signing key (the
 * first in pgp.keys), so the retired key can be removed from the configuration. Idempotent.
 */
export async function rewrap(
  cfg: Config,
  opts: { json?: boolean },
  clock: Clock = systemClock,
): Promise<void> {
  const keys = await teamKeysOrExit(cfg, clock, 'psirt rewrap');
  const signing = keys[0]?.fingerprint ?? '';
  await withWritableCaseDatabase(cfg, async (db) => {
    const r = await rewrapDataKeys(db, keys);
    if (opts.json) {
      out(JSON.stringify({ signingKey: signing, ...r }, null, 2));
    } else {
      for (const k of r.rewrapped)
        out(`data key ${String(k.id)}: re-wrapped from ${k.from.join(', ')} to ${signing}`);
      for (const k of r.unreadable)
        out(
          `data key ${String(k.id)}: wrapped to ${k.fingerprints.join(', ')}, which is not configured: left as it is`,
        );
      out(
        `done: ${String(r.rewrapped.length)} re-wrapped, ${String(r.current.length)} already wrapped to ${signing}, ${String(r.unreadable.length)} not openable`,
      );
      if (r.unreadable.length === 0)
        out('every data key opens with the signing key alone: retired keys can leave pgp.keys');
    }
    if (r.unreadable.length > 0) process.exitCode = EXIT_FAILED;
  });
}
