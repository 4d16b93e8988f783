import { join } from 'node:path';
import { createCalendar, type Calendar } from '../calendar/calendar.js';
import { commandCapableStaff } from '../config/command-auth.js';
import type { Config } from '../config/schema.js';
import { checkDatabase, checkHeartbeats } from '../7-cases/health.js';
import { readMigrations } from '../7-cases/migrate.js';
import { fail, pass, warn, type CheckResult } from '../core/check.js';
import type { Clock } from '../core/clock.js';
import { packageRoot } from '../core/paths.js';
import { describeError } from '../core/errors.js';
import { checkTeamKeys, teamKeyFingerprints, type ExpiryNote } from '../pgp/keyring.js';
import { openExisting } from '../7-cases/db.js';
import { openAlarms } from '../7-cases/alarm-store.js';
import { backlogCounts, spoolDirFor } from '../7-cases/seal-backlog.js';
import { sealedRecordCensus } from '../7-cases/seal-census.js';
import { expiryOutlook, timeLeft } from '../policy/channel-watch.js';
import { checkImap } from '../1-intake/imap-client.js';
import { checkRedis } from '../jobs/redis.js';
import { checkSmtp } from '../8-outbox/smtp-transport.js';
import { smtpAuthOf } from '../config/schema/transport.js';
import { serviceTokenSource } from '../roles/tokens.js';

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
  const calendar = createCalendar(config.calendar);
  const now = opts.clock.now();
  // One token source for both logins, as in the service (#15).
  const tokens = serviceTokenSource(config);
  const [imap, smtp, redis, keys, fingerprints] = await Promise.all([
    checkImap(
      config.imap,
      config.imap.auth === 'oauth2' && tokens !== null
        ? { tokens, mechanism: config.oauth2.mechanism }
        : null,
    ),
    checkSmtp(config.smtp, smtpAuthOf(config.smtp) === 'oauth2' ? tokens : null),
    checkRedis(config.redis),
    checkTeamKeys(config.pgp, opts.clock, keyExpiryNote(config, now, calendar)),
    teamKeyFingerprints(config.pgp),
  ]);
  return [
    configLine,
    database,
    imap,
    smtp,
    redis,
    ...keys,
    ...(database.ok ? checkSealedRecords(config, fingerprints) : []),
    ...(database.ok ? checkAlarms(config) : []),
    checkSecurityTxt(config, now, calendar),
    checkStaffingReview(config, now, calendar),
    checkCommandAuth(config),
  ];
}

/** What to do about each alarm the service raises about itself (#15). */
const ALARM_FIXES: Readonly<Record<string, string>> = {
  'relay-down':
    'the SMTP relay (smtp.host, smtp.port) refuses connections: start or repair it; waiting mail is sent within seconds once it answers',
  'mail-roundtrip':
    'mail to the security mailbox does not come back through IMAP: check MX, relay and mailbox delivery (the relay log, the mailbox quota)',
  'intake-stalled':
    'the intake has not synced the mailbox: check that the intake role runs and that IMAP answers (imap line above)',
};

/**
 * The alarms the service has open about itself (#15): one fail line per alarm, naming it and
 * since when, with the fix; a pass line when none is open.
 */
export function checkAlarms(config: Config): CheckResult[] {
  const opened = openExisting(config.database.path);
  if (opened.state !== 'open') return [];
  try {
    const open = openAlarms(opened.db);
    if (open.length === 0) return [pass('alarms', 'none open (relay, mail round trip, intake)')];
    return open.map((a) =>
      fail(
        `alarm ${a.name}`,
        `open since ${minute(new Date(a.raised_at))}: ${a.detail}`,
        ALARM_FIXES[a.name] ?? 'see the README, Dead-man and outages',
      ),
    );
  } catch (err) {
    return [
      fail(
        'alarms',
        `cannot read them: ${describeError(err)}`,
        'check the database (psirt doctor database line)',
      ),
    ];
  } finally {
    opened.db.close();
  }
}

const plural = (n: number, one: string, many = `${one}s`): string => `${String(n)} ${n === 1 ? one : many}`;

/**
 * What is sealed at rest, and to which key (#13): per configured team key, the records (raw
 * mails, spool files, case subjects) sealed with data keys wrapped to it; a failure for records
 * whose data key no configured key opens (they cannot be read until that key is configured
 * again); a warning for records still in clear (a database written before sealing).
 */
export function checkSealedRecords(config: Config, fingerprints: readonly (string | null)[]): CheckResult[] {
  const opened = openExisting(config.database.path);
  if (opened.state !== 'open') return [];
  const spoolDir = spoolDirFor(config.database.path);
  let census: ReturnType<typeof sealedRecordCensus>;
  let clear: ReturnType<typeof backlogCounts>;
  try {
    census = sealedRecordCensus(opened.db, spoolDir);
    clear = backlogCounts(opened.db, spoolDir);
  } catch (err) {
    return [
      fail(
        'sealed records',
        `cannot count them: ${describeError(err)}`,
        'check the database (psirt doctor database line)',
      ),
    ];
  } finally {
    opened.db.close();
  }
  const records = (c: { raw: number; spool: number; subjects: number }): string =>
    `${plural(c.raw, 'raw mail')}, ${plural(c.spool, 'spool file')}, ${plural(c.subjects, 'subject')}`;
  const results: CheckResult[] = [];
  for (const [i, fpr] of fingerprints.entries()) {
    if (fpr === null) continue;
    const mine = census.filter((d) => d.fingerprints.includes(fpr));
    const sum = mine.reduce(
      (a, d) => ({ raw: a.raw + d.raw, spool: a.spool + d.spool, subjects: a.subjects + d.subjects }),
      { raw: 0, spool: 0, subjects: 0 },
    );
    results.push(
      pass(`sealed to key ${String(i)}`, `${fpr}: ${records(sum)} (${plural(mine.length, 'data key')})`),
    );
  }
  const configured = new Set(fingerprints.filter((f): f is string => f !== null));
  const orphans = new Map<string, number>();
  for (const d of census) {
    const n = d.raw + d.spool + d.subjects;
    if (n === 0 || d.fingerprints.some((f) => configured.has(f))) continue;
    const who = d.fingerprints.length === 0 ? `data key ${String(d.id)}` : d.fingerprints.join(' or ');
    orphans.set(who, (orphans.get(who) ?? 0) + n);
  }
  for (const [who, n] of orphans)
    results.push(
      fail(
        'sealed records',
        who.startsWith('data key')
          ? `${plural(n, 'record')} sealed with ${who}, which the database does not hold`
          : `${plural(n, 'record')} sealed to key ${who}, which is not configured`,
        'add that team key to pgp.keys (after the signing key) and run psirt rewrap before removing it again',
      ),
    );
  const inClear = clear.raw + clear.spool + clear.subjects + clear.outbox;
  results.push(
    inClear === 0
      ? pass('records in clear', 'none: every stored report is sealed')
      : warn(
          'records in clear',
          `${records(clear)}, ${plural(clear.outbox, 'outbox subject')} stored in clear (written before sealing)`,
          'run psirt seal (with the team key passphrase), or start the intake, which seals them first',
        ),
  );
  return results;
}

const day = (d: Date): string => d.toISOString().slice(0, 10);
/** "2027-10-31 23:00 UTC": Expires is an instant, shown to the minute. */
const minute = (d: Date): string => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/**
 * A team key's expiry as doctor words it: the date and the days left, and a warning within
 * `public_channel.watch_before` (when the accountable role is alerted too).
 */
export function keyExpiryNote(config: Config, now: Date, calendar: Calendar): ExpiryNote {
  return (expires) => {
    const o = expiryOutlook(expires, now, config.public_channel.watch_before, calendar);
    return {
      text: `expires ${day(expires)} (${timeLeft(expires, now)})`,
      warning:
        o.state === 'soon' || o.state === 'past'
          ? 'extend the key (gpg --quick-set-expire) and publish it, or rotate: a new key first in pgp.keys, the old one after it'
          : null,
    };
  };
}

const RENEW_SECURITY_TXT =
  'move public_channel.expires ahead (less than a year) and render the public channel again with psirt program';

/**
 * security.txt's Expires (RFC 9116 §2.5.5): fails once passed, warns within
 * `public_channel.watch_before`, when more than a year ahead (the RFC advises less) or unset.
 */
export function checkSecurityTxt(config: Config, now: Date, calendar: Calendar): CheckResult {
  const name = 'security.txt';
  const configured = config.public_channel.expires;
  if (configured === undefined)
    return warn(
      name,
      'public_channel.expires is not set: psirt program cannot render security.txt',
      'set public_channel.expires (RFC 9116 requires Expires), less than a year ahead',
    );
  const expires = new Date(configured);
  const o = expiryOutlook(expires, now, config.public_channel.watch_before, calendar);
  const left = timeLeft(expires, now);
  if (o.state === 'past') return fail(name, `Expires ${minute(expires)} passed ${left}`, RENEW_SECURITY_TXT);
  if (o.state === 'soon')
    return warn(
      name,
      `Expires ${minute(expires)}, ${left}: renew before ${day(expires)}`,
      RENEW_SECURITY_TXT,
    );
  const aYear = calendar.add(now, { amount: 365, unit: 'calendar_days' });
  if (expires.getTime() > aYear.getTime())
    return warn(
      name,
      `Expires ${minute(expires)}, ${left}: more than a year ahead (RFC 9116 §2.5.5 advises less)`,
      'set public_channel.expires less than a year ahead',
    );
  return pass(name, `Expires ${minute(expires)}, ${left}`);
}

/**
 * ISO/IEC 18974 §4.2.2.2: staffing and funding are reviewed by `staffing.review_by`; warns once
 * that day has ended in the calendar's zone, or when no date is set.
 */
export function checkStaffingReview(config: Config, now: Date, calendar: Calendar): CheckResult {
  const name = 'staffing review';
  const by = config.staffing.review_by;
  if (by === undefined)
    return warn(
      name,
      'staffing.review_by is not set',
      'set staffing.review_by to the date staffing and funding are next reviewed (ISO/IEC 18974 §4.2.2.2)',
    );
  const end = calendar.endOfDay(by);
  if (now.getTime() > end.getTime())
    return warn(
      name,
      `staffing.review_by ${by} has passed (${timeLeft(end, now)})`,
      'review staffing.allocations and staffing.budget with their approvers, then move staffing.review_by',
    );
  return pass(name, `next review by ${by} (${timeLeft(end, now)})`);
}

/**
 * Who can send commands by mail: with PGP only, a member needs `fingerprint` and `key_file`.
 * Fails when no member with the security role can (nobody could triage by mail).
 */
export function checkCommandAuth(config: Config): CheckResult {
  const { can, cannot: unable } = commandCapableStaff(config);
  const cannot = unable.map((m) => m.address);
  const detail = `${can.length} of ${config.staff.length} staff can send commands${cannot.length > 0 ? ` (not: ${cannot.join(', ')})` : ''}`;
  if (can.some((m) => m.roles.includes('security'))) return pass('staff commands', detail);
  return fail(
    'staff commands',
    detail,
    'give security staff fingerprint and key_file (PGP), or enable commands.dkim_verify or commands.trusted_authserv_ids',
  );
}

/**
 * Renders results for a terminal: `✓ name  detail`, `! name  detail` (a warning) or
 * `✗ name  detail`, the last two followed by `fix: …`.
 */
export function formatChecks(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.ok ? (r.warning ? '!' : '✓') : '✗'} ${r.name.padEnd(width)}  ${r.detail}`);
    if ((!r.ok || r.warning) && r.fix) lines.push(`  ${' '.repeat(width)}  fix: ${r.fix}`);
  }
  return lines.join('\n');
}
