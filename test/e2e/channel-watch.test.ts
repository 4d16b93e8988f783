import { workerStack } from '../support/worker-stack.js';
import { randomUUID } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDbPath } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { mailById, queryDb, startService, type RunningService } from '../support/service.js';
import { sweepStream, sweptSince } from '../support/sweeps.js';

/**
 * Issue #12 Deliver 5 on the real stack: a security.txt Expires 10 days ahead (inside the default
 * 30-day watch) with two processes sweeping the same SQLite file. The service runs on the wall
 * clock, so the date is set from it; the test team key expires in 2036, outside the watch.
 */
const stack = workerStack();
const dbPath = tempDbPath();
/** Whole seconds, as an operator writes it; stored and shown as the ISO instant. */
const EXPIRES = new Date(Date.now() + 10 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const expires = new Date(EXPIRES);
const ENV = {
  // Quoted: an override is read as a TOML value, and a bare date-time is a TOML date, not a string.
  PSIRT_PUBLIC_CHANNEL__EXPIRES: `"${EXPIRES}"`,
  // Our own queues: only these two processes sweep, so the sweeps counted below are theirs.
  PSIRT_REDIS__PREFIX: `test-${randomUUID()}`,
};
let service: RunningService;
let second: RunningService;

interface AlertRow {
  recipients: string;
  message_id: string;
  subject: string;
  state: string;
}
const alerts = (): AlertRow[] =>
  queryDb<AlertRow>(
    dbPath,
    "SELECT recipients, message_id, subject, state FROM outbox WHERE kind = 'channel-expiry' ORDER BY id",
  );

beforeAll(async () => {
  service = await startService(stack, ENV, dbPath);
  second = await startService(stack, ENV, dbPath, ['escalation']);
});

afterAll(async () => {
  expect(await second.stop()).toBe(0);
  expect(await service.stop()).toBe(0);
});

describe('the public-channel watch (real Dovecot, Postfix, Redis; two sweeping processes)', () => {
  it('the accountable role gets exactly one channel-expiry mail for a security.txt expiring in 10 days, with its date', async () => {
    const sent = await eventually(() => alerts().find((r) => r.state === 'sent'), {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'the channel-expiry mail sent',
    });
    // Both processes sweep again (two sweeps each, begun after the mail was sent): no second one.
    await sweptSince(stack.redisUrl, sweepStream(service.env), Date.now(), { count: 4 });
    expect(alerts()).toHaveLength(1);
    expect(sent.recipients).toBe('["lead@psirt.test"]');
    const mails = await eventually(
      async () => {
        const found = await mailById(stack, 'lead', sent.message_id);
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 20_000, what: "lead's channel-expiry mail" },
    );
    expect(mails).toHaveLength(1);
    const mail = await simpleParser(mails[0]!);
    expect(mail.subject).toBe(`Public channel: security.txt expires on ${EXPIRES.slice(0, 10)}`);
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
    expect(mail.text).toMatch(/The published security\.txt \(RFC 9116\) expires in (9|10) days\./);
    expect(mail.text).toContain(`${expires.toISOString()} (public_channel.expires)`);
    expect(mail.text).toContain('psirt program');
    expect(
      queryDb<{ subject: string; expires_at: string }>(
        dbPath,
        'SELECT subject, expires_at FROM channel_alerts',
      ),
    ).toEqual([{ subject: 'security.txt', expires_at: expires.toISOString() }]);
  });
});
