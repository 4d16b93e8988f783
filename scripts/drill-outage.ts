/**
 * `npm run drill:outage -- --minutes 15 --reports 100` (issue #15 acceptance): the relay-outage
 * scenario of test/e2e/relay-outage.test.ts at full length, with the shipped retry schedule
 * (config/default.toml [mailer]: 8 tries from 5 s, reconcile every 60 s, relay checked every
 * 5 s, alarm after 45 s). On the local stack (`bash test/stack/stack.sh start`) with the built
 * service (`npm run build`):
 * 1. start the service; stop Postfix;
 * 2. append `--reports` reports to security@ over IMAP (Postfix is down) and keep it down for
 *    `--minutes` in all;
 * 3. start Postfix and wait until every outbox row is sent;
 * 4. print the figures: reports, acknowledgments delivered, duplicates, seconds from Postfix
 *    back to the last mail sent, relay-down alerts and recovery notes.
 * Exits 1 when a mail is missing or doubled, the last mail left more than 30 s after Postfix
 * came back, or the alerts are not exactly one of each.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tempDbPath } from '../test/support/db.js';
import { eventually } from '../test/support/eventually.js';
import { acknowledgmentIds, appendOutageReports } from '../test/support/outage.js';
import { drainSecurityInbox, queryDb, startService } from '../test/support/service.js';
import { readStack, REPO } from '../test/support/stack.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '15' },
    reports: { type: 'string', default: '100' },
  },
});
const minutes = Number(values.minutes);
const reports = Number(values.reports);
if (!(minutes > 0) || !Number.isInteger(reports) || reports < 1) {
  process.stderr.write('usage: npm run drill:outage -- [--minutes 15] [--reports 100]\n');
  process.exit(2);
}

const STACK = join(REPO, 'test', 'stack', 'stack.sh');
const stackCmd = (...args: string[]): void => {
  execFileSync('bash', [STACK, ...args], { stdio: 'inherit' });
};
const say = (text: string): void => {
  process.stdout.write(`drill: ${text}\n`);
};
const count = (dbPath: string, sql: string, ...params: unknown[]): number =>
  queryDb<{ n: number }>(dbPath, sql, ...params)[0]?.n ?? 0;

const stack = readStack();
await drainSecurityInbox(stack);
const run = `drill-${randomUUID()}`;
const dbPath = tempDbPath();
const service = await startService(
  stack,
  {
    // The shipped schedule, not the test profile's shortened one.
    PSIRT_MAILER__RETRY_ATTEMPTS: '8',
    PSIRT_MAILER__RETRY_DELAY_SECONDS: '5',
    PSIRT_MAILER__RECONCILE_INTERVAL_SECONDS: '60',
    PSIRT_MAILER__RELAY_CHECK_SECONDS: '5',
    PSIRT_MAILER__RELAY_DOWN_AFTER_SECONDS: '45',
    PSIRT_LOG__LEVEL: 'info', // startService waits for the "service.started" line
  },
  dbPath,
  // The mail of the reports only: the test profile's minute-long deadlines would add escalations.
  ['intake', 'mailer'],
);
let postfixDown = false;
let ok: boolean;
try {
  stackCmd('postfix-stop');
  postfixDown = true;
  const down = Date.now();
  say(
    `Postfix stopped; appending ${String(reports)} reports; outage of ${String(minutes)} min (db ${dbPath})`,
  );
  await appendOutageReports(stack, run, reports, 'drill');
  while (Date.now() - down < minutes * 60_000) {
    await new Promise((r) => setTimeout(r, 30_000));
    const pending = count(dbPath, "SELECT count(*) AS n FROM outbox WHERE state <> 'sent'");
    say(`${((Date.now() - down) / 60_000).toFixed(1)} min down, ${String(pending)} mail(s) waiting`);
  }
  stackCmd('postfix-start');
  postfixDown = false;
  const back = Date.now();
  say('Postfix started');
  await eventually(
    () => (count(dbPath, "SELECT count(*) AS n FROM outbox WHERE state <> 'sent'") === 0 ? true : undefined),
    { timeoutMs: 15 * 60_000, intervalMs: 500, what: 'every outbox row sent' },
  );
  const lastSent = queryDb<{ at: string }>(dbPath, 'SELECT max(sent_at) AS at FROM outbox')[0]?.at ?? '';
  const seconds = (Date.parse(lastSent) - back) / 1000;
  const acks = await eventually(
    async () => {
      const ids = await acknowledgmentIds(stack, run);
      return ids.length >= reports ? ids : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 2000, what: 'every acknowledgment delivered' },
  ).catch(() => acknowledgmentIds(stack, run));
  const distinct = new Set(acks).size;
  const alerts = queryDb<{ event: string; state: string }>(
    dbPath,
    "SELECT json_extract(payload, '$.event') AS event, state FROM outbox WHERE kind = 'service-alert' AND json_extract(payload, '$.alarm') = 'relay-down'",
  );
  const raised = alerts.filter((a) => a.event === 'raised').length;
  const cleared = alerts.filter((a) => a.event === 'cleared').length;
  say(`reports:                  ${String(reports)}`);
  say(
    `acknowledgments:          ${String(distinct)} delivered, ${String(acks.length - distinct)} duplicate(s)`,
  );
  say(
    `outbox rows sent:         ${String(count(dbPath, "SELECT count(*) AS n FROM outbox WHERE state = 'sent'"))}`,
  );
  say(`last mail after recovery: ${seconds.toFixed(1)} s`);
  say(`relay-down alerts:        ${String(raised)} raised, ${String(cleared)} recovery note(s)`);
  ok = distinct === reports && acks.length === reports && seconds <= 30 && raised === 1 && cleared === 1;
  say(ok ? 'PASS' : 'FAIL');
} finally {
  if (postfixDown) stackCmd('postfix-start');
  await service.stop();
}
process.exit(ok ? 0 : 1);
