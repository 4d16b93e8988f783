import { workerStack } from '../support/worker-stack.js';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDbPath } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { openMailbox } from '../support/mailbox.js';
import { drainSecurityInbox, mailById, queryDb, startService } from '../support/service.js';
import { address, REPO, type StackInfo } from '../support/stack.js';

/**
 * Issue #15 Deliver 5: Postfix stopped while 100 reports arrive (appended into Dovecot over
 * IMAP, since the MTA is down), for longer than the whole retry schedule (shortened here: 2
 * tries, 4 s apart) — then Postfix back. Every mail is delivered exactly once, promptly (the
 * reconciler runs only every 120 s here, and a delayed job would wait out its back-off: only the
 * relay watch's promote-and-reconcile sends them in time), with one relay-down alert and one
 * recovery note to staff.
 */
const stack = workerStack();
const STACK = join(REPO, 'test', 'stack', 'stack.sh');
const stackCmd = (...args: string[]): void => {
  execFileSync('bash', [STACK, ...args], { stdio: 'pipe', env: { ...process.env } });
};
const REPORTS = 100;
const ATTEMPTS = 2;

const count = (dbPath: string, sql: string, ...params: unknown[]): number =>
  queryDb<{ n: number }>(dbPath, sql, ...params)[0]!.n;

/** Appends `n` plain reports to security@'s INBOX (as Dovecot's LMTP would have delivered them). */
async function appendReports(s: StackInfo, run: string, n: number): Promise<void> {
  const client = await openMailbox(s, 'security');
  try {
    for (let i = 0; i < n; i++) {
      const raw = [
        `From: Reporter One <reporter1+${run}@${s.domain}>`,
        `To: ${address(s, 'security')}`,
        `Subject: Outage report ${String(i)}`,
        `Message-ID: <${run}-${String(i)}@outage.e2e>`,
        `Date: ${new Date().toUTCString()}`,
        'Content-Type: text/plain; charset=utf-8',
        '',
        `Report ${String(i)} of run ${run}. ${'Details of the flaw. '.repeat(20)}`,
        '',
      ].join('\r\n');
      await client.append('INBOX', raw);
    }
  } finally {
    await client.logout();
  }
}

/** Message-IDs of this run's acknowledgments in the reporter's mailbox, one entry per copy. */
async function acknowledgmentIds(s: StackInfo, run: string): Promise<string[]> {
  const client = await openMailbox(s, 'reporter1');
  try {
    const lock = await client.getMailboxLock('INBOX');
    try {
      const uids = await client.search({ header: { 'in-reply-to': run } }, { uid: true });
      if (!Array.isArray(uids) || uids.length === 0) return [];
      const ids: string[] = [];
      for await (const m of client.fetch(uids.join(','), { envelope: true }, { uid: true }))
        ids.push(m.envelope?.messageId ?? '');
      return ids;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}

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
    const service = await startService(
      stack,
      {
        PSIRT_MAILER__RETRY_ATTEMPTS: String(ATTEMPTS),
        PSIRT_MAILER__RETRY_DELAY_SECONDS: '4',
        PSIRT_MAILER__RECONCILE_INTERVAL_SECONDS: '120',
        PSIRT_MAILER__RELAY_CHECK_SECONDS: '1',
        PSIRT_MAILER__RELAY_DOWN_AFTER_SECONDS: '3',
      },
      dbPath,
    );
    let stopped = false;
    try {
      stackCmd('postfix-stop');
      stopped = true;
      await appendReports(stack, run, REPORTS);
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
      stackCmd('postfix-start');
      stopped = false;
      const back = Date.now();
      await eventually(
        () =>
          count(dbPath, "SELECT count(*) AS n FROM outbox WHERE state <> 'sent'") === 0 ? true : undefined,
        { timeoutMs: 60_000, intervalMs: 250, what: 'every outbox row sent after Postfix is back' },
      );
      const lastSent = queryDb<{ at: string }>(dbPath, 'SELECT max(sent_at) AS at FROM outbox')[0]!.at;
      process.stdout.write(
        `relay outage: ${String(REPORTS)} reports, last mail ${((Date.parse(lastSent) - back) / 1000).toFixed(1)} s after Postfix was back\n`,
      );
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
