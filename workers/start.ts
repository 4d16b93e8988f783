import type { Config } from '../src/config/schema.js';
import { openDatabase, type Db } from '../src/7-cases/db.js';
import type { ServiceDeps } from '../src/pipeline.js';
import { checkAdoption } from '../src/roles/adoption.js';
import { removeHeartbeat, writeHeartbeat } from '../src/7-cases/health.js';
import { migrate, readMigrations } from '../src/7-cases/migrate.js';
import type { Clock } from '../src/core/clock.js';
import type { Logger } from '../src/core/log.js';
import { readFile } from 'node:fs/promises';
import { createCalendar, type Calendar } from '../src/calendar/calendar.js';
import { parseCaseIdFormat } from '../src/core/case-id.js';
import { loadTeamKeys, type TeamKey } from '../src/pgp/keyring.js';
import { readStaffKey } from '../src/pgp/sealer.js';
import { ReportCache } from '../src/8-outbox/report-view.js';
import { migrationsDir } from '../src/cli/doctor.js';
import { ROLE_STARTERS, type Role } from '../src/roles/roles.js';
import { ROLE_STOP_MS, stopRoles } from '../src/roles/role.js';
import { recordStart } from '../src/roles/procedure.js';
import { openVault } from '../src/roles/vault.js';
import type { Vault } from '../src/core/vault.js';
import { packageVersion } from '../src/core/paths.js';
import { systemdNotifier } from '../src/roles/systemd.js';
import { serviceManagerEnv } from '../src/config/load.js';
import { createObservability, type Observability } from '../src/roles/observability.js';
import { checkTokensAtStart, serviceTokenSource } from '../src/roles/tokens.js';
import type { ImapOAuth2 } from '../src/1-intake/imap-client.js';

const HEARTBEAT_MS = 15_000;

/** Exit code after an error nothing else caught (EX_SOFTWARE): the supervisor restarts us. */
export const EXIT_UNCAUGHT = 70;

/**
 * The fault-injection hook of the e2e tests (#10), or undefined. NB! No configuration key, no
 * environment variable and no mail can set it: only code already running inside this process
 * can, by putting a function under this registry symbol before the start — the e2e harness does
 * so with `node --import test/support/fault-injection.ts`, a file that is not in the package or
 * the container image.
 */
const FAULT_HOOK = Symbol.for('psirt-inbox.test.before-decode');
function injectedFault(): ((raw: Buffer) => void) | undefined {
  const hook = (globalThis as Record<symbol, unknown>)[FAULT_HOOK];
  return typeof hook === 'function' ? (hook as (raw: Buffer) => void) : undefined;
}

/**
 * Last resort (DESIGN.md invariant 8): an error that escaped every handler — a throw inside a
 * stream or timer callback, a rejection nobody awaited — leaves the process in an unknown state.
 * Log it (class and message only, never content) and exit non-zero at once, so the supervisor
 * (tini/systemd/the container runtime) restarts the service; the intake's attempt counter,
 * committed before each message is processed, then quarantines the message that caused it.
 */
export function installLastResortHandlers(log: Logger): void {
  const die = (event: string) => (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    log.fatal({ event, err: `${e.name}: ${e.message}`.slice(0, 300) }, 'uncaught error; exiting');
    process.exit(EXIT_UNCAUGHT);
  };
  process.on('uncaughtException', die('process.uncaught-exception'));
  process.on('unhandledRejection', die('process.unhandled-rejection'));
}

/**
 * The composition root of `psirt start`: migrate, unlock the team keys, start the chosen roles in
 * this process, beat, and shut down cleanly on SIGTERM/SIGINT. Resolves when the service stopped:
 * true, or false when a role did not stop within ROLE_STOP_MS (logged; the caller exits non-zero).
 * 1. open SQLite and apply pending migrations (each in its own transaction)
 * 2. unlock the team keys — a wrong passphrase stops the start here, not at the first report
 * 3. record the start and the procedure version in force (configuration digest, #12)
 * 4. start the HTTP listener (/metrics, /healthz, /readyz) when http.enabled
 * 5. start each role, write heartbeats every 15 s, tell systemd READY and ping its watchdog
 * 6. on a signal: stop the roles and the listener, remove the heartbeats, close SQLite
 */
export async function runService(
  config: Config,
  roles: readonly Role[],
  clock: Clock,
  log: Logger,
): Promise<boolean> {
  // Listen for SIGTERM/SIGINT from the first moment: a signal during start-up (migrations, key
  // unlocking) still ends in a clean stop, not in node's default exit 143.
  const stop = { signal: null as NodeJS.Signals | null, wake: (): void => undefined };
  const onSignal = (signal: NodeJS.Signals): void => {
    stop.signal ??= signal;
    stop.wake();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  installLastResortHandlers(log);
  let opened: OpenedService;
  let observability: Observability | null = null;
  let openedDb: Db | null = null;
  try {
    opened = await openService(config, clock, log, {
      before: async (db, oauth) => {
        // Issue #15: a first start on a mailbox full of old mail stops here, naming the fix.
        if (roles.includes('intake')) await checkAdoption(config, db, clock, oauth);
      },
      recordStart: (db, parts) =>
        recordStart(db, clock, log, config, { ...parts, roles, version: packageVersion() }),
    });
    openedDb = opened.db;
    if (config.http.enabled) {
      observability = createObservability(config, { db: opened.db, clock, log, version: packageVersion() });
      await observability.listen();
    }
  } catch (err) {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await observability?.close();
    // openService closes the database on its own errors; a listener that failed leaves it open.
    openedDb?.close();
    throw err;
  }
  const { db } = opened;
  const shared = {
    ...opened.shared,
    ...(observability === null ? {} : { metrics: observability.metrics }),
  };
  const startedAt = clock.now();
  const running = roles.map((role) => ROLE_STARTERS[role]({ ...shared, log: log.child({ role }) }));
  const beat = (): void => {
    for (const r of running) writeHeartbeat(db, clock, r.name, startedAt);
  };
  beat();
  const timer = setInterval(beat, HEARTBEAT_MS);
  // Under systemd (deploy/systemd/psirt-inbox.service): ready now, and the watchdog pinged from
  // this event loop — a loop that stops turning is restarted by the manager.
  const notifier = systemdNotifier(serviceManagerEnv(), log);
  notifier.ready(`running: ${roles.join(', ')}`);
  const watchdog =
    notifier.watchdogEveryMs === null
      ? null
      : setInterval(() => notifier.watchdog(), notifier.watchdogEveryMs);
  log.info({ event: 'service.started', roles, database: config.database.path }, 'psirt-inbox started');

  await new Promise<void>((resolve) => {
    stop.wake = resolve;
    if (stop.signal !== null) resolve();
  });
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  log.info({ event: 'service.stopping', signal: stop.signal }, 'stopping');
  notifier.stopping();
  clearInterval(timer);
  if (watchdog !== null) clearInterval(watchdog);
  const unstopped = await stopRoles(running);
  await observability?.close();
  for (const r of running) removeHeartbeat(db, r.name);
  db.close();
  if (unstopped.length > 0) {
    log.error(
      { event: 'service.stop-timeout', roles: unstopped, seconds: ROLE_STOP_MS / 1000 },
      'roles did not stop in time; exiting without them',
    );
    return false;
  }
  log.info({ event: 'service.stopped' }, 'psirt-inbox stopped');
  return true;
}

/** What a process that handles mail shares: the database and the deps every role gets. */
export interface OpenedService {
  db: Db;
  shared: Omit<ServiceDeps, 'log'>;
}

/**
 * Opens what handling mail needs, for `psirt start` and `psirt import` (issue #15):
 * 1. open SQLite and apply pending migrations (each in its own transaction); `before` runs next
 * 2. unlock the team keys — a wrong passphrase stops here, not at the first report
 * 3. read the staff and customer keys, open the vault (sealing at rest, #13)
 * 4. `recordStart`, if given (the start and the procedure version in force, #12)
 * On any error the database is closed and the error thrown.
 */
export async function openService(
  config: Config,
  clock: Clock,
  log: Logger,
  hooks: {
    before?: (db: Db, oauth: ImapOAuth2 | null) => Promise<void>;
    recordStart?: (db: Db, parts: { teamKeys: TeamKey[]; calendar: Calendar }) => void;
  } = {},
): Promise<OpenedService> {
  const calendar = createCalendar(config.calendar);
  const db = openDatabase(config.database.path);
  let teamKeys: TeamKey[];
  let vault: Vault;
  const staffKeys = new Map<string, string>();
  const customerKeys = new Map<string, string>();
  const tokens = serviceTokenSource(config);
  const imapOAuth: ImapOAuth2 | null =
    config.imap.auth === 'oauth2' && tokens !== null ? { tokens, mechanism: config.oauth2.mechanism } : null;
  try {
    // OAuth2 (#15): a refused refresh token stops the start here, naming the fix.
    await checkTokensAtStart(tokens, log);
    migrate(db, readMigrations(migrationsDir()), clock, (m) =>
      log.info({ event: 'cases.migrated', version: m.version, migration: m.file }, 'migration applied'),
    );
    await hooks.before?.(db, imapOAuth);
    teamKeys = await loadTeamKeys(config.pgp, clock);
    log.info(
      { event: 'pgp.keys-loaded', fingerprints: teamKeys.map((k) => k.fingerprint) },
      'team keys unlocked',
    );
    for (const [i, s] of config.staff.entries()) {
      if (!s.key_file || !s.fingerprint) continue;
      const file = s.key_file;
      const armored = await readFile(file, 'utf8').catch((err: unknown) => {
        throw new Error(`staff[${i}].key_file: cannot read ${file}`, { cause: err });
      });
      staffKeys.set(s.address, await readStaffKey(file, armored, s.fingerprint, `staff[${i}]`));
    }
    // Customers' keys (#14): a key that is not the pinned fingerprint stops the start here.
    for (const [i, c] of config.customers.entries()) {
      if (!c.key_file || !c.fingerprint) continue;
      const file = c.key_file;
      const armored = await readFile(file, 'utf8').catch((err: unknown) => {
        throw new Error(`customers[${i}].key_file: cannot read ${file}`, { cause: err });
      });
      customerKeys.set(c.name, await readStaffKey(file, armored, c.fingerprint, `customers[${i}]`));
    }
    // Sealing at rest (#13): the data keys these team keys open, and the one new records use.
    ({ vault } = await openVault(db, clock, teamKeys, { seal: true, log }));
    hooks.recordStart?.(db, { teamKeys, calendar });
  } catch (err) {
    db.close();
    throw err;
  }
  const beforeDecode = injectedFault();
  if (beforeDecode !== undefined)
    log.warn({ event: 'service.fault-injection' }, 'TEST fault injection is active (never in production)');
  return {
    db,
    shared: {
      config,
      db,
      clock,
      teamKeys,
      staffKeys,
      customerKeys,
      calendar,
      caseIdFormat: parseCaseIdFormat(config.cases.id_format),
      reports: new ReportCache(),
      vault,
      tokens,
      ...(beforeDecode === undefined ? {} : { beforeDecode }),
    },
  };
}
