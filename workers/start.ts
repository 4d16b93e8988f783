import type { Config } from '../src/config/schema.js';
import { openDatabase } from '../src/cases/db.js';
import { removeHeartbeat, writeHeartbeat } from '../src/cases/health.js';
import { migrate, readMigrations } from '../src/cases/migrate.js';
import type { Clock } from '../src/core/clock.js';
import type { Logger } from '../src/core/log.js';
import { loadTeamKeys } from '../src/pgp/keyring.js';
import { migrationsDir } from '../src/doctor.js';
import { startIntake, type RoleDeps, type RunningRole } from '../src/main.js';
import { startEscalation, startMailer } from './roles.js';

export const ROLES = ['intake', 'mailer', 'escalation'] as const;
export type Role = (typeof ROLES)[number];

const HEARTBEAT_MS = 15_000;

const STARTERS: Record<Role, (deps: RoleDeps) => RunningRole> = {
  intake: startIntake,
  mailer: startMailer,
  escalation: startEscalation,
};

/**
 * The composition root of `psirt start`: migrate, unlock the team keys, start the chosen roles in
 * this process, beat, and shut down cleanly on SIGTERM/SIGINT. Resolves when the service stopped.
 * 1. open SQLite and apply pending migrations (each in its own transaction)
 * 2. unlock the team keys — a wrong passphrase stops the start here, not at the first report
 * 3. start each role, write heartbeats every 15 s
 * 4. on a signal: stop the roles, remove the heartbeats, close SQLite
 */
export async function runService(
  config: Config,
  roles: readonly Role[],
  clock: Clock,
  log: Logger,
): Promise<void> {
  const db = openDatabase(config.database.path);
  try {
    migrate(db, readMigrations(migrationsDir()), clock, (m) =>
      log.info({ event: 'cases.migrated', version: m.version, migration: m.file }, 'migration applied'),
    );
    const keys = await loadTeamKeys(config.pgp, clock);
    log.info(
      { event: 'decode.keys-loaded', fingerprints: keys.map((k) => k.fingerprint) },
      'team keys unlocked',
    );
  } catch (err) {
    db.close();
    throw err;
  }
  const startedAt = clock.now();
  const running = roles.map((role) => STARTERS[role]({ config, db, clock, log: log.child({ role }) }));
  const beat = (): void => {
    for (const r of running) writeHeartbeat(db, clock, r.name, startedAt);
  };
  beat();
  const timer = setInterval(beat, HEARTBEAT_MS);
  log.info({ event: 'service.started', roles, database: config.database.path }, 'psirt-inbox started');

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      log.info({ event: 'service.stopping', signal }, 'stopping');
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  clearInterval(timer);
  await Promise.all(running.map((r) => r.stop()));
  for (const r of running) removeHeartbeat(db, r.name);
  db.close();
  log.info({ event: 'service.stopped' }, 'psirt-inbox stopped');
}
