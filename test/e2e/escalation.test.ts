import { workerStack } from '../support/worker-stack.js';
import { Redis } from 'ioredis';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { tempDbPath } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import {
  appliedCase,
  deliver,
  drainSecurityInbox,
  fixture,
  mailById,
  queryDb,
  sendStaffMail,
  startService,
  type RunningService,
} from '../support/service.js';
import { sweepStream, sweptSince } from '../support/sweeps.js';

/**
 * Issue #5 acceptance on the real stack: a test policy in seconds (triage due 20 s after the
 * report; the ladder reminds the assignee 6 s before, tells on-call at the deadline and the
 * accountable role 6 s after), with two service processes sweeping the same SQLite file and a
 * FLUSHALL of Redis in the middle of a ladder.
 */
const stack = workerStack();
const dbPath = tempDbPath();
const POLICY = { PSIRT_DEADLINES__TRIAGE__AMOUNT: '20' };
let service: RunningService;
let second: RunningService;

const query = <T>(sql: string, ...params: unknown[]): T[] => queryDb<T>(dbPath, sql, ...params);

async function newCase(): Promise<string> {
  const report = fixture('report-plain.eml');
  await deliver(stack, report.raw);
  return appliedCase(dbPath, report.messageId);
}

async function command(caseId: string, commands: string): Promise<void> {
  await sendStaffMail(
    stack,
    dbPath,
    { subject: `Re: [${caseId}] report ${commands}` },
    `${commands} applied`,
  );
}

interface Sent {
  recipients: string;
  message_id: string;
  subject: string;
  state: string;
}
const escalationsOf = (caseId: string): Sent[] =>
  query<Sent>(
    "SELECT recipients, message_id, subject, state FROM outbox WHERE case_id = ? AND kind = 'escalation' ORDER BY id",
    caseId,
  );

/** Waits until the case's escalation to `user` is sent and in that mailbox; returns the mail. */
async function escalationIn(caseId: string, user: string): Promise<Buffer> {
  const row = await eventually(
    () => escalationsOf(caseId).find((r) => r.recipients === `["${user}@psirt.test"]` && r.state === 'sent'),
    { timeoutMs: 45_000, intervalMs: 500, what: `escalation of ${caseId} to ${user}` },
  );
  return eventually(async () => (await mailById(stack, user, row.message_id))[0], {
    timeoutMs: 20_000,
    what: `${user}'s escalation mail`,
  });
}

beforeAll(async () => {
  await drainSecurityInbox(stack);
  service = await startService(stack, POLICY, dbPath);
  // A second process on the same SQLite file, running only the escalation role.
  second = await startService(stack, POLICY, dbPath, ['escalation']);
});

afterAll(async () => {
  expect(await second.stop()).toBe(0);
  expect(await service.stop()).toBe(0);
});

describe('deadlines and escalation (real Dovecot, Postfix, Redis; two sweeping processes)', () => {
  it('an untriaged case reminds the assignee, then mails on-call once, then the accountable role once — across a FLUSHALL', async () => {
    const caseId = await newCase();
    await command(caseId, '/assign bob');
    const reminder = await escalationIn(caseId, 'bob');
    expect(reminder.toString()).toContain('multipart/encrypted'); // bob has a key_file
    // Redis loses everything mid-ladder: the steps live in SQLite and the scheduler is re-created.
    const redis = new Redis(stack.redisUrl);
    await redis.flushall();
    redis.disconnect();
    const oncall = await simpleParser(await escalationIn(caseId, 'oncall'));
    expect(oncall.subject).toBe(`[${caseId}] Escalation: triage deadline missed`);
    expect(oncall.headers.get('auto-submitted')).toBe('auto-generated');
    expect(oncall.text).toContain(`Case ${caseId}: the triage deadline was missed`);
    expect(oncall.text).toContain('Owner:     Bob Tester <bob@psirt.test>');
    expect(oncall.text).toContain('/triage');
    expect(oncall.text).not.toContain('app.psirt.test'); // report-plain.eml's body: never in escalations
    await escalationIn(caseId, 'lead');
    // Both sweepers get more rounds (four sweeps begun after the last step was sent, seen in
    // BullMQ's event stream): still exactly one mail per step.
    await sweptSince(stack.redisUrl, sweepStream(service.env), Date.now(), { count: 4 });
    const sent = escalationsOf(caseId);
    expect(sent.map((s) => s.recipients)).toEqual([
      '["bob@psirt.test"]',
      '["oncall@psirt.test"]',
      '["lead@psirt.test"]',
    ]);
    for (const s of sent) {
      const user = (JSON.parse(s.recipients) as string[])[0]!.split('@')[0]!;
      expect(await mailById(stack, user, s.message_id)).toHaveLength(1);
    }
    // Every step is an event in the case log.
    expect(
      query<{ n: number }>(
        "SELECT count(*) AS n FROM events WHERE case_id = ? AND type = 'escalation.sent'",
        caseId,
      )[0]?.n,
    ).toBe(3);
  }, 150_000); // real-time ladder steps: 31 s in a 12-minute CI, more under load

  it('/triage stops the ladder; a critical case fixed 45 days out calls for outside expertise', async () => {
    const caseId = await newCase();
    // 45 days ahead; end of that day in the calendar, so 45 or 46 days from the report (rounded).
    const fixBy = new Date(Date.now() + 45 * 86_400_000).toISOString().slice(0, 10);
    await command(
      caseId,
      `/assign bob /cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H /fix-by ${fixBy} /triage`,
    );
    const outside = await simpleParser(await escalationIn(caseId, 'lead'));
    expect(outside.subject).toBe(`[${caseId}] Escalation: outside expertise needed`);
    expect(outside.text).toMatch(/its fix date is 4[56] days after the report \(the limit is 30\)/);
    expect(outside.text).toContain('Test Crypto Review (cryptography): crypto-review@psirt.test');
    // The triage deadline (20 s) passes: no ladder step, since the case was triaged. /triage
    // stopped the three steps; once a sweep began after the last one's time, it would have
    // sent any that was still pending.
    const steps = query<{ state: string; fire_at: string }>(
      "SELECT state, fire_at FROM escalations WHERE case_id = ? AND deadline = 'triage'",
      caseId,
    );
    expect(steps.map((s) => s.state)).toEqual(['stopped', 'stopped', 'stopped']);
    const lastStep = Math.max(...steps.map((s) => Date.parse(s.fire_at)));
    await sweptSince(stack.redisUrl, sweepStream(service.env), lastStep);
    expect(escalationsOf(caseId).map((s) => s.subject)).toEqual([
      `[${caseId}] Escalation: outside expertise needed`,
    ]);
  }, 60_000);

  it('psirt deadlines lists what is open with business time left, and cases list the next deadline', async () => {
    const env = { ...service.env };
    const deadlines = await runCli(['deadlines'], env);
    expect(deadlines.code).toBe(0);
    expect(deadlines.stdout).toMatch(/^CASE\s+DEADLINE\s+DUE \(UTC\)\s+TIME LEFT/m);
    expect(deadlines.stdout).toMatch(/SEC-\d{4}-\d{4}\s+verify\s+\S+ \S+\s+\d+\.\d bd (left|LATE)/);
    const late = await runCli(['deadlines', '--late', '--json'], env);
    const rows = JSON.parse(late.stdout) as { kind: string; due_at: string }[];
    for (const r of rows) expect(Date.parse(r.due_at)).toBeLessThanOrEqual(Date.now());
    const list = await runCli(['cases', 'list'], env);
    expect(list.stdout).toMatch(/ bd (left|LATE)/);
    // Never a silent cut: a limit says how many more there are.
    const one = await runCli(['cases', 'list', '--limit', '1'], env);
    expect(one.stdout).toMatch(/^… and 1 more open cases \(--limit 2 shows all\)$/m);
    expect((await runCli(['cases', 'list', '--limit', 'x'], env)).code).toBe(2);
  });
});
