import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { checkDatabase, checkHeartbeats } from '../7-cases/health.js';
import { readMigrations } from '../7-cases/migrate.js';
import { fail, pass, type CheckResult } from '../core/check.js';
import type { Clock } from '../core/clock.js';
import { packageRoot } from '../core/paths.js';
import { checkTeamKeys } from '../pgp/keyring.js';
import { checkImap } from '../1-intake/imap-client.js';
import { checkRedis } from '../jobs/redis.js';
import { checkSmtp } from '../8-outbox/smtp-transport.js';

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
    // No usable database: its line already says what to run; a heartbeat line would only repeat
    // the driver's error.
    if (!database.ok) return [configLine, database];
    const beat = checkHeartbeats(config.database.path, opts.clock, opts.heartbeatMaxAgeSeconds ?? 60);
    return [configLine, database, beat];
  }
  const [imap, smtp, redis, keys] = await Promise.all([
    checkImap(config.imap),
    checkSmtp(config.smtp),
    checkRedis(config.redis),
    checkTeamKeys(config.pgp, opts.clock),
  ]);
  return [configLine, database, imap, smtp, redis, ...keys, checkCommandAuth(config)];
}

/**
 * Who can send commands by mail: with PGP only, a member needs `fingerprint` and `key_file`.
 * Fails when no member with the security role can (nobody could triage by mail).
 */
export function checkCommandAuth(config: Config): CheckResult {
  const { pgp, dkim_verify, trusted_authserv_ids } = config.commands;
  const domainAuth = dkim_verify || trusted_authserv_ids.length > 0;
  const can = config.staff.filter((m) => domainAuth || (pgp && m.fingerprint && m.key_file));
  const cannot = config.staff.filter((m) => !can.includes(m)).map((m) => m.address);
  const detail = `${can.length} of ${config.staff.length} staff can send commands${cannot.length > 0 ? ` (not: ${cannot.join(', ')})` : ''}`;
  if (can.some((m) => m.roles.includes('security'))) return pass('staff commands', detail);
  return fail(
    'staff commands',
    detail,
    'give security staff fingerprint and key_file (PGP), or enable commands.dkim_verify or commands.trusted_authserv_ids',
  );
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
