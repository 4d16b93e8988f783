import { join } from 'node:path';
import type { Config } from './config/schema.js';
import { checkDatabase, checkHeartbeats } from './cases/health.js';
import { readMigrations } from './cases/migrate.js';
import { pass, type CheckResult } from './core/check.js';
import type { Clock } from './core/clock.js';
import { packageRoot } from './core/paths.js';
import { checkTeamKeys } from './pgp/keyring.js';
import { checkImap } from './intake/imap-client.js';
import { checkRedis } from './jobs/redis.js';
import { checkSmtp } from './outbox/smtp-transport.js';

export interface DoctorOptions {
  /** Only what a container HEALTHCHECK needs: the database and the running roles' heartbeats. */
  quick: boolean;
  clock: Clock;
  /** Seconds after which a role's heartbeat counts as missing (quick mode). */
  heartbeatMaxAgeSeconds?: number;
}

export function migrationsDir(): string {
  return join(packageRoot(), 'migrations');
}

/**
 * Runs every check against the configured services and returns one result per check, in a fixed
 * order. The network checks run concurrently; none of them throws, and none reports a secret.
 */
export async function runDoctor(config: Config, opts: DoctorOptions): Promise<CheckResult[]> {
  const migrations = readMigrations(migrationsDir());
  const withKeys = config.pgp.keys.length;
  const configLine = pass(
    'config',
    `valid: ${config.staff.length} staff, ${withKeys} team key(s), mailbox ${config.imap.user}/${config.imap.mailbox}`,
  );
  const database = checkDatabase(config.database.path, migrations, opts.quick);
  if (opts.quick) {
    const beat = checkHeartbeats(config.database.path, opts.clock, opts.heartbeatMaxAgeSeconds ?? 60);
    return [configLine, database, beat];
  }
  const [imap, smtp, redis, keys] = await Promise.all([
    checkImap(config.imap),
    checkSmtp(config.smtp),
    checkRedis(config.redis),
    checkTeamKeys(config.pgp, opts.clock),
  ]);
  return [configLine, database, imap, smtp, redis, ...keys];
}

/** Renders results for a terminal: `✓ name  detail` or `✗ name  detail` + `fix: …`. */
export function formatChecks(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.ok ? '✓' : '✗'} ${r.name.padEnd(width)}  ${r.detail}`);
    if (!r.ok && r.fix) lines.push(`  ${' '.repeat(width)}  fix: ${r.fix}`);
  }
  return lines.join('\n');
}
