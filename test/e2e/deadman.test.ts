import { workerStack } from '../support/worker-stack.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDbPath } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import {
  appliedCase,
  deliver,
  drainSecurityInbox,
  fixture,
  inSecurityFolder,
  mailById,
  queryDb,
  startService,
} from '../support/service.js';
import { REPO } from '../support/stack.js';

/**
 * Issue #15 acceptance: "With delivery into the service's own mailbox blocked in the local stack,
 * on-call gets exactly one dead-man alert within the configured window and one all-clear after
 * unblocking." Probes every 2 s, a window of 6 s.
 */
const stack = workerStack();
const STACK = join(REPO, 'test', 'stack', 'stack.sh');
const stackCmd = (...args: string[]): void => {
  execFileSync('bash', [STACK, ...args], { stdio: 'pipe', env: { ...process.env } });
};
const WINDOW = 6;
const CHECK = 1;

interface AlertRow {
  id: number;
  message_id: string;
  state: string;
  created_at: string;
  payload: string;
}
const alertRows = (dbPath: string, event: 'raised' | 'cleared'): AlertRow[] =>
  queryDb<AlertRow>(
    dbPath,
    "SELECT id, message_id, state, created_at, payload FROM outbox WHERE kind = 'service-alert' AND json_extract(payload, '$.alarm') = 'mail-roundtrip' AND json_extract(payload, '$.event') = ? ORDER BY id",
    event,
  );

describe('the dead-man on the mail path (#15)', () => {
  it('with delivery into security@ blocked, on-call gets exactly one alert within the window and one all-clear after unblocking; probes are never cases', async () => {
    await drainSecurityInbox(stack);
    const dbPath = tempDbPath();
    const service = await startService(
      stack,
      {
        PSIRT_DEADMAN__ENABLED: 'true',
        PSIRT_DEADMAN__INTERVAL_SECONDS: '2',
        PSIRT_DEADMAN__WINDOW_SECONDS: String(WINDOW),
        PSIRT_DEADMAN__CHECK_SECONDS: String(CHECK),
        PSIRT_DEADMAN__INTAKE_STALLED_AFTER_SECONDS: '120',
      },
      dbPath,
    );
    let blocked = false;
    try {
      // The round trip works: a probe comes back and is filed, never a case.
      await eventually(
        () =>
          queryDb<{ n: number }>(dbPath, 'SELECT count(*) AS n FROM probes WHERE returned_at IS NOT NULL')[0]!
            .n > 0
            ? true
            : undefined,
        { timeoutMs: 20_000, intervalMs: 250, what: 'a probe back through IMAP' },
      );
      const probeId = queryDb<{ message_id: string }>(
        dbPath,
        "SELECT message_id FROM outbox WHERE kind = 'mail-probe' AND state = 'sent' ORDER BY id LIMIT 1",
      )[0]!.message_id;
      await eventually(
        async () => ((await inSecurityFolder(stack, 'Processed', probeId)) ? true : undefined),
        {
          timeoutMs: 10_000,
          what: 'the probe filed in Processed',
        },
      );

      stackCmd('block-delivery', 'security');
      blocked = true;
      const raised = await eventually(
        () => {
          const rows = alertRows(dbPath, 'raised');
          return rows.length > 0 && rows[0]!.state === 'sent' ? rows[0] : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: 'the dead-man alert sent' },
      );
      // Within the configured window: the alarm stands for the first lost probe, and was raised
      // at the first look after its window ended.
      const alarm = queryDb<{ raised_at: string }>(
        dbPath,
        "SELECT raised_at FROM alarms WHERE name = 'mail-roundtrip'",
      )[0]!;
      const lateBy = Date.parse(raised.created_at) - Date.parse(alarm.raised_at) - WINDOW * 1000;
      expect(lateBy).toBeGreaterThanOrEqual(0);
      expect(lateBy).toBeLessThanOrEqual(3 * CHECK * 1000 + 2000);
      await eventually(
        async () => ((await mailById(stack, 'oncall', raised.message_id)).length === 1 ? true : undefined),
        {
          timeoutMs: 15_000,
          what: 'the alert in oncall@',
        },
      );

      stackCmd('unblock-delivery', 'security');
      blocked = false;
      const cleared = await eventually(
        () => {
          const rows = alertRows(dbPath, 'cleared');
          return rows.length > 0 && rows[0]!.state === 'sent' ? rows[0] : undefined;
        },
        { timeoutMs: 40_000, intervalMs: 250, what: 'the all-clear sent' },
      );
      await eventually(
        async () => ((await mailById(stack, 'oncall', cleared.message_id)).length === 1 ? true : undefined),
        {
          timeoutMs: 15_000,
          what: 'the all-clear in oncall@',
        },
      );
      // Every probe held back in the queue comes back, and nothing alerts again.
      await eventually(
        () =>
          queryDb<{ n: number }>(
            dbPath,
            "SELECT count(*) AS n FROM probes p JOIN outbox o ON o.id = p.outbox_id WHERE o.state = 'sent' AND p.returned_at IS NULL AND p.sent_at < ?",
            cleared.created_at,
          )[0]!.n === 0
            ? true
            : undefined,
        { timeoutMs: 30_000, intervalMs: 500, what: 'every held probe back' },
      );
      expect(alertRows(dbPath, 'raised')).toHaveLength(1);
      expect(alertRows(dbPath, 'cleared')).toHaveLength(1);
      // Probes are never cases, never acknowledged.
      expect(queryDb<{ n: number }>(dbPath, 'SELECT count(*) AS n FROM cases')[0]!.n).toBe(0);
      expect(
        queryDb<{ n: number }>(dbPath, "SELECT count(*) AS n FROM outbox WHERE kind = 'acknowledgment'")[0]!
          .n,
      ).toBe(0);
      // A probe header whose MAC does not hold (forged from outside) hides nothing: the mail is a case.
      const real = JSON.parse(
        queryDb<{ payload: string }>(
          dbPath,
          "SELECT payload FROM outbox WHERE kind = 'mail-probe' LIMIT 1",
        )[0]!.payload,
      ) as { header: string };
      const forged = `${real.header.slice(0, -4)}${real.header.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
      const report = fixture('report-plain.eml');
      await deliver(stack, Buffer.concat([Buffer.from(`X-Psirt-Probe: ${forged}\r\n`), report.raw]));
      await appliedCase(dbPath, report.messageId, 'the case of the mail with a forged probe header');
      // A valid probe header copied into another mail (anyone who saw a probe can) hides nothing
      // either: only the probe's own Message-ID makes a mail our probe. The report is a case and
      // is acknowledged.
      const replay = fixture('report-plain.eml', { subject: 'Second flaw, with a copied probe header' });
      await deliver(stack, Buffer.concat([Buffer.from(`X-Psirt-Probe: ${real.header}\r\n`), replay.raw]));
      const replayCase = await appliedCase(
        dbPath,
        replay.messageId,
        'the case of the mail with a copied probe header',
      );
      await eventually(
        () =>
          queryDb<{ n: number }>(
            dbPath,
            "SELECT count(*) AS n FROM outbox WHERE kind = 'acknowledgment' AND case_id = ?",
            replayCase,
          )[0]!.n === 1
            ? true
            : undefined,
        {
          timeoutMs: 15_000,
          intervalMs: 250,
          what: 'the acknowledgment of the mail with a copied probe header',
        },
      );
    } finally {
      if (blocked) stackCmd('unblock-delivery', 'security');
      expect(await service.stop()).toBe(0);
    }
  }, 90_000);
});
