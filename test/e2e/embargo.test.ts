import { workerStack } from '../support/worker-stack.js';
import { Redis } from 'ioredis';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
 * Issue #14 item 4 on the real stack (Dovecot, Postfix, Redis; two processes sweeping one SQLite
 * file). Honest timing without waiting days: the agreed date is tomorrow in the test profile's
 * UTC calendar, so its `disclose` deadline is due at the end of tomorrow; `remind_before` is set in
 * seconds so that the reminder time falls LEAD seconds after this file starts — the case is made
 * and the date agreed well before then, outside the reminder window.
 */
const stack = workerStack();
const dbPath = tempDbPath();
const LEAD = 45;
const startedAt = Date.now();
const tomorrow = new Date(startedAt + 86_400_000).toISOString().slice(0, 10);
const due = Date.parse(`${tomorrow}T23:59:59.999Z`);
const remindAt = startedAt + LEAD * 1000;
const POLICY = {
  PSIRT_DISCLOSURE__REMIND_BEFORE__AMOUNT: String(Math.floor((due - remindAt) / 1000)),
  PSIRT_DISCLOSURE__REMIND_BEFORE__UNIT: 'seconds',
};
let service: RunningService;
let second: RunningService;

const query = <T>(sql: string, ...params: unknown[]): T[] => queryDb<T>(dbPath, sql, ...params);

interface Sent {
  recipients: string;
  message_id: string;
  in_reply_to: string | null;
  state: string;
}
const remindersOf = (caseId: string): Sent[] =>
  query<Sent>(
    "SELECT recipients, message_id, in_reply_to, state FROM outbox WHERE case_id = ? AND kind = 'embargo-reminder' ORDER BY id",
    caseId,
  );

async function reminderIn(caseId: string, user: string): Promise<{ raw: Buffer; row: Sent }> {
  const row = await eventually(
    () => remindersOf(caseId).find((r) => r.recipients === `["${user}@psirt.test"]` && r.state === 'sent'),
    { timeoutMs: LEAD * 1000 + 60_000, intervalMs: 500, what: `embargo reminder of ${caseId} to ${user}` },
  );
  const raw = await eventually(async () => (await mailById(stack, user, row.message_id))[0], {
    timeoutMs: 20_000,
    what: `${user}'s embargo reminder`,
  });
  return { raw, row };
}

beforeAll(async () => {
  await drainSecurityInbox(stack);
  service = await startService(stack, POLICY, dbPath);
  second = await startService(stack, POLICY, dbPath, ['escalation']);
});

afterAll(async () => {
  expect(await second.stop()).toBe(0);
  expect(await service.stop()).toBe(0);
});

describe('embargo reminders (real Dovecot, Postfix, Redis; two sweeping processes)', () => {
  it('one reminder each to the reporter (encrypted, on their thread) and the assignee — across a FLUSHALL', async () => {
    const report = fixture('report-autocrypt.eml'); // reporter2 sends their key: it is pinned
    await deliver(stack, report.raw, 'reporter2@psirt.test');
    const caseId = await appliedCase(dbPath, report.messageId);
    await sendStaffMail(
      stack,
      dbPath,
      { subject: `Re: [${caseId}] report /assign bob /disclose ${tomorrow}` },
      'the /disclose command',
    );
    // Agreed before the reminder time: the test's timing is what it says.
    const agreed = query<{ at: string }>(
      "SELECT at FROM events WHERE case_id = ? AND type = 'case.disclosure-scheduled'",
      caseId,
    );
    expect(agreed).toHaveLength(1);
    expect(Date.parse(agreed[0]!.at)).toBeLessThan(remindAt);
    expect(remindersOf(caseId)).toEqual([]);
    // Redis loses everything before the reminder time: the reminders live in SQLite.
    const redis = new Redis(stack.redisUrl);
    await redis.flushall();
    redis.disconnect();

    const toReporter = await reminderIn(caseId, 'reporter2');
    const toBob = await reminderIn(caseId, 'bob');
    expect(Date.now()).toBeGreaterThanOrEqual(remindAt);
    expect(toReporter.raw.toString()).toContain('multipart/encrypted'); // their pinned key
    expect(toBob.raw.toString()).toContain('multipart/encrypted'); // bob has a key_file
    const outer = await simpleParser(toReporter.raw);
    expect(outer.headers.get('auto-submitted')).toBe('auto-generated');
    expect(outer.subject).toContain(`[${caseId}]`);
    // On the reporter's thread: it answers the last mail we sent them (the status mail).
    const status = query<{ message_id: string }>(
      "SELECT message_id FROM outbox WHERE case_id = ? AND kind = 'reporter-status' ORDER BY id DESC LIMIT 1",
      caseId,
    );
    expect(toReporter.row.in_reply_to).toBe(status[0]!.message_id);
    expect(outer.inReplyTo).toBe(`<${status[0]!.message_id}>`);

    // More sweeps of both processes (seen in BullMQ's event stream): still one reminder each.
    await sweptSince(stack.redisUrl, sweepStream(service.env), Date.now(), { count: 4 });
    expect(remindersOf(caseId).map((r) => r.recipients)).toEqual([
      '["reporter2@psirt.test"]',
      '["bob@psirt.test"]',
    ]);
    expect(await mailById(stack, 'reporter2', toReporter.row.message_id)).toHaveLength(1);
    expect(await mailById(stack, 'bob', toBob.row.message_id)).toHaveLength(1);
    expect(
      query<{ recipient: string; state: string }>(
        'SELECT recipient, state FROM embargo_reminders WHERE case_id = ? ORDER BY id',
        caseId,
      ),
    ).toEqual([
      { recipient: 'reporter', state: 'sent' },
      { recipient: 'assignee', state: 'sent' },
    ]);
  }, 180_000);
});
