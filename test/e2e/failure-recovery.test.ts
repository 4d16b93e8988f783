import { workerStack } from '../support/worker-stack.js';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/7-cases/db.js';
import { tempDbPath } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { openMailbox } from '../support/mailbox.js';
import { sendPaced } from '../support/paced-mail.js';
import { withTestSeed } from '../support/seed.js';
import { drainSecurityInbox, startService } from '../support/service.js';
import { address, type StackInfo } from '../support/stack.js';

const stack = workerStack();
const REPORTERS = ['reporter1', 'reporter2', 'reporter3'];

function count(dbPath: string, sql: string, ...params: unknown[]): number {
  const db = openDatabase(dbPath, { readonly: true });
  try {
    return (db.prepare(sql).get(...params) as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Delivers `n` distinct plain reports through Postfix at a steady pace; resolves when all are accepted. */
function deliverReports(s: StackInfo, run: string, n: number, perSecond: number): Promise<void> {
  return sendPaced(s, n, perSecond, (i) => ({
    from: address(s, REPORTERS[i % REPORTERS.length] ?? 'reporter1'),
    to: address(s, 'security'),
    subject: `Crash test report ${i}`,
    messageId: `<${run}-${i}@crash.e2e>`,
    text: `Report ${i} of run ${run}.\n${'Details of the vulnerability. '.repeat(40)}`,
  }));
}

/** In-Reply-To and Message-ID of every acknowledgment of this run in the reporters' mailboxes. */
async function acknowledgments(
  s: StackInfo,
  run: string,
): Promise<{ inReplyTo: string; messageId: string }[]> {
  const out: { inReplyTo: string; messageId: string }[] = [];
  for (const user of REPORTERS) {
    const client = await openMailbox(s, user);
    try {
      const lock = await client.getMailboxLock('INBOX');
      try {
        const uids = await client.search({ header: { 'in-reply-to': run } }, { uid: true });
        if (!Array.isArray(uids) || uids.length === 0) continue;
        for await (const m of client.fetch(uids.join(','), { envelope: true }, { uid: true })) {
          out.push({ inReplyTo: m.envelope?.inReplyTo ?? '', messageId: m.envelope?.messageId ?? '' });
        }
      } finally {
        lock.release();
      }
    } finally {
      await client.logout();
    }
  }
  return out;
}

describe('failure recovery (real Dovecot, Postfix, Redis)', () => {
  it(
    'kill -9 ten times while 200 reports arrive: one case per report, every acknowledgment sent, duplicates only with the same Message-ID',
    () =>
      // The kill times are random: the seed is printed and named on failure (PSIRT_TEST_SEED replays).
      withTestSeed('kill -9 test', async (random) => {
        await drainSecurityInbox(stack);
        const run = `crash-${randomUUID()}`;
        const total = 200;
        const dbPath = tempDbPath();
        const delivery = deliverReports(stack, run, total, 12);
        for (let round = 0; round < 10; round++) {
          const service = await startService(stack, {}, dbPath);
          await new Promise((r) => setTimeout(r, 400 + random() * 900));
          expect(await service.stop('SIGKILL')).toBeNull();
        }
        await delivery;
        const service = await startService(stack, {}, dbPath);
        try {
          const reach = (what: string, n: number, sql: string, ...params: unknown[]) =>
            eventually(() => (count(dbPath, sql, ...params) === n ? true : undefined), {
              timeoutMs: 90_000,
              intervalMs: 500,
              what,
            });
          await reach(
            'all reports applied',
            total,
            "SELECT count(*) AS n FROM messages WHERE message_id LIKE ? AND state = 'applied'",
            `${run}-%`,
          );
          await reach(
            'all acknowledgments sent',
            total,
            "SELECT count(*) AS n FROM outbox o JOIN messages m ON m.case_id = o.case_id WHERE m.message_id LIKE ? AND o.kind = 'acknowledgment' AND o.state = 'sent'",
            `${run}-%`,
          );
          await reach(
            'every outbox row sent (notifications too)',
            0,
            "SELECT count(*) AS n FROM outbox WHERE state <> 'sent'",
          );
        } finally {
          expect(await service.stop()).toBe(0);
        }
        expect(
          count(
            dbPath,
            'SELECT count(DISTINCT case_id) AS n FROM messages WHERE message_id LIKE ?',
            `${run}-%`,
          ),
        ).toBe(total);
        expect(count(dbPath, 'SELECT count(*) AS n FROM cases')).toBe(total);
        // Every mail was filed out of the INBOX exactly once, and every staff notification went out.
        expect(
          count(
            dbPath,
            "SELECT count(*) AS n FROM messages WHERE message_id LIKE ? AND filed_to = 'processed'",
            `${run}-%`,
          ),
        ).toBe(total);
        const box = await openMailbox(stack, 'security');
        const left = await box.status('INBOX', { messages: true }).finally(() => box.logout());
        expect(left === false ? -1 : left.messages).toBe(0);
        expect(
          count(
            dbPath,
            "SELECT count(*) AS n FROM outbox WHERE kind = 'staff-notification' AND state <> 'sent'",
          ),
        ).toBe(0);
        const acks = await eventually(
          async () => {
            const a = await acknowledgments(stack, run);
            return new Set(a.map((x) => x.inReplyTo)).size === total ? a : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 1000, what: 'every acknowledgment in a reporter mailbox' },
        );
        // Decision 0002: a re-send after a crash carries the same Message-ID, so per report there is
        // exactly one distinct acknowledgment Message-ID, however many copies arrived.
        const idsPerReport = new Map<string, Set<string>>();
        for (const a of acks)
          idsPerReport.set(a.inReplyTo, (idsPerReport.get(a.inReplyTo) ?? new Set()).add(a.messageId));
        expect([...idsPerReport.values()].every((ids) => ids.size === 1)).toBe(true);
        process.stdout.write(
          `crash test: ${total} reports, ${acks.length} acknowledgment copies (${acks.length - total} duplicates by policy)\n`,
        );
      }),
    300_000,
  );

  it('FLUSHALL on Redis with acknowledgments pending: all of them still arrive', async () => {
    await drainSecurityInbox(stack);
    const run = `flush-${randomUUID()}`;
    const dbPath = tempDbPath();
    // Intake only: the rows are committed and enqueued, but no mailer takes them.
    const intake = await startService(stack, {}, dbPath, ['intake']);
    await deliverReports(stack, run, 10, 20);
    await eventually(
      () =>
        count(
          dbPath,
          "SELECT count(*) AS n FROM outbox WHERE kind = 'acknowledgment' AND state = 'pending'",
        ) === 10
          ? true
          : undefined,
      { timeoutMs: 30_000, what: 'ten pending acknowledgments' },
    );
    await intake.stop();
    const redis = new Redis(stack.redisUrl);
    await redis.flushall();
    redis.disconnect();
    const mailer = await startService(stack, {}, dbPath, ['mailer']);
    try {
      await eventually(async () => ((await acknowledgments(stack, run)).length >= 10 ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 1000,
        what: 'acknowledgments after FLUSHALL',
      });
    } finally {
      await mailer.stop();
    }
  }, 180_000);
});
