import { workerStack } from '../support/worker-stack.js';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { tempDbPath } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { acknowledgmentIds, appendOutageReports } from '../support/outage.js';
import { drainSecurityInbox, mailById, queryDb, startService } from '../support/service.js';
import { freePort } from '../support/ports.js';
import { REPO, stackEnv } from '../support/stack.js';

/**
 * Issue #15 Deliver 5: Postfix stopped while 100 reports arrive (appended into Dovecot over
 * IMAP, since the MTA is down), for longer than the whole retry schedule (shortened here: 2
 * tries, 4 s apart) — then Postfix back. Every mail is delivered exactly once, all within 30 s
 * of Postfix coming back, with one relay-down alert and one recovery note to staff. The test
 * discriminates: every job has used up its tries and the reconciler runs only every 900 s here,
 * so without the relay watch's promote-and-reconcile on recovery nothing would go for minutes.
 * While Postfix is down, `psirt doctor --json` and /metrics show the relay-down alarm.
 */
const stack = workerStack();
const STACK = join(REPO, 'test', 'stack', 'stack.sh');
const stackCmd = (...args: string[]): void => {
  execFileSync('bash', [STACK, ...args], { stdio: 'pipe', env: { ...process.env } });
};
const REPORTS = 100;
const ATTEMPTS = 2;
/** The acceptance: every mail delivered within this long of Postfix coming back. */
const PROMPT_MS = 30_000;

const count = (dbPath: string, sql: string, ...params: unknown[]): number =>
  queryDb<{ n: number }>(dbPath, sql, ...params)[0]!.n;

interface AlertRow {
  message_id: string;
  state: string;
  event: string;
}

describe('recovery from a relay outage (#15)', () => {
  it('Postfix down past the whole retry schedule during 100 reports: every mail delivered once after it is back, one relay-down alert and one recovery note to staff', async () => {
    await drainSecurityInbox(stack);
    const run = `outage-${randomUUID()}`;
    const dbPath = tempDbPath();
    const httpPort = await freePort();
    const service = await startService(
      stack,
      {
        PSIRT_MAILER__RETRY_ATTEMPTS: String(ATTEMPTS),
        PSIRT_MAILER__RETRY_DELAY_SECONDS: '4',
        // Far beyond the 30 s: only the prompt-recovery path can deliver in time.
        PSIRT_MAILER__RECONCILE_INTERVAL_SECONDS: '900',
        PSIRT_MAILER__RELAY_CHECK_SECONDS: '1',
        PSIRT_MAILER__RELAY_DOWN_AFTER_SECONDS: '3',
        PSIRT_HTTP__ENABLED: 'true',
        PSIRT_HTTP__PORT: String(httpPort),
      },
      dbPath,
    );
    let stopped = false;
    try {
      stackCmd('postfix-stop');
      stopped = true;
      await appendOutageReports(stack, run, REPORTS);
      await eventually(
        () =>
          count(
            dbPath,
            "SELECT count(*) AS n FROM messages WHERE message_id LIKE ? AND state = 'applied'",
            `${run}-%`,
          ) === REPORTS
            ? true
            : undefined,
        { timeoutMs: 60_000, intervalMs: 500, what: 'every report applied' },
      );
      // Past the whole retry schedule: every acknowledgment used up its tries, and staff were
      // told once that the relay is down (the alert waits for it: no second route here).
      await eventually(
        () =>
          count(
            dbPath,
            "SELECT count(*) AS n FROM outbox WHERE kind = 'acknowledgment' AND attempts >= ? AND state = 'pending'",
            ATTEMPTS,
          ) === REPORTS && count(dbPath, "SELECT count(*) AS n FROM alarms WHERE name = 'relay-down'") === 1
            ? true
            : undefined,
        { timeoutMs: 60_000, intervalMs: 500, what: 'every acknowledgment past its retry schedule' },
      );
      // While it is down, doctor and the metrics say so.
      const doctor = await runCli(['doctor', '--json'], stackEnv(stack, { PSIRT_DATABASE__PATH: dbPath }));
      const checks = JSON.parse(doctor.stdout) as { name: string; ok: boolean; detail?: string }[];
      expect(checks.find((c) => c.name === 'alarm relay-down')).toMatchObject({ ok: false });
      expect(checks.find((c) => c.name === 'alarms')).toBeUndefined();
      await eventually(
        async () => {
          const res = await fetch(`http://127.0.0.1:${String(httpPort)}/metrics`);
          return res.status === 200 && /^psirt_alarm_active\{alarm="relay-down"\} 1$/m.test(await res.text())
            ? true
            : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 500, what: 'psirt_alarm_active{alarm="relay-down"} 1 in /metrics' },
      );

      stackCmd('postfix-start');
      stopped = false;
      const back = Date.now();
      await eventually(
        () =>
          count(dbPath, "SELECT count(*) AS n FROM outbox WHERE state <> 'sent'") === 0 ? true : undefined,
        {
          timeoutMs: PROMPT_MS + 15_000,
          intervalMs: 250,
          what: 'every outbox row sent after Postfix is back',
        },
      );
      const lastSent = queryDb<{ at: string }>(dbPath, 'SELECT max(sent_at) AS at FROM outbox')[0]!.at;
      const afterMs = Date.parse(lastSent) - back;
      process.stdout.write(
        `relay outage: ${String(REPORTS)} reports, last mail ${(afterMs / 1000).toFixed(1)} s after Postfix was back\n`,
      );
      // The acceptance (#15): every mail delivered within 30 s of Postfix coming back.
      expect(afterMs).toBeLessThanOrEqual(PROMPT_MS);
      const acks = await eventually(
        async () => {
          const ids = await acknowledgmentIds(stack, run);
          return ids.length >= REPORTS ? ids : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 1000, what: 'every acknowledgment in reporter1@' },
      );
      // Exactly once: as many copies as distinct Message-IDs, one per report.
      expect(new Set(acks).size).toBe(REPORTS);
      expect(acks).toHaveLength(REPORTS);
      const alerts = queryDb<AlertRow>(
        dbPath,
        "SELECT message_id, state, json_extract(payload, '$.event') AS event FROM outbox WHERE kind = 'service-alert' AND json_extract(payload, '$.alarm') = 'relay-down' ORDER BY id",
      );
      expect(alerts.map((a) => [a.event, a.state])).toEqual([
        ['raised', 'sent'],
        ['cleared', 'sent'],
      ]);
      for (const a of alerts) {
        await eventually(
          async () => ((await mailById(stack, 'alice', a.message_id)).length === 1 ? true : undefined),
          {
            timeoutMs: 15_000,
            what: `the relay-down ${a.event} mail in alice@`,
          },
        );
      }
      expect(
        queryDb<{ cleared_at: string | null }>(
          dbPath,
          "SELECT cleared_at FROM alarms WHERE name = 'relay-down'",
        )[0]!.cleared_at,
      ).not.toBeNull();
    } finally {
      if (stopped) stackCmd('postfix-start');
      expect(await service.stop()).toBe(0);
    }
  }, 150_000);
});
