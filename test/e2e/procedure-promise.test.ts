import { workerStack } from '../support/worker-stack.js';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCalendar } from '../../src/calendar/calendar.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { formatDate } from '../../src/8-outbox/render.js';
import { formatSpan } from '../../src/policy/wording.js';
import { eventually } from '../support/eventually.js';
import {
  appliedCase,
  deliver,
  drainSecurityInbox,
  fixture,
  queryDb,
  repliesTo,
  startService,
  type RunningService,
} from '../support/service.js';

/**
 * Issue #12's acceptance line: "Changing deadlines.verify from 7 to 5 business days changes …,
 * end to end, the verify deadline of a new case; the acknowledgment promise matches both." One
 * service on the real stack, its verify deadline set to 5 business days.
 */
const stack = workerStack();
const VERIFY = { PSIRT_DEADLINES__VERIFY__AMOUNT: '5', PSIRT_DEADLINES__VERIFY__UNIT: 'business_days' };
let service: RunningService;
let config: Config;

beforeAll(async () => {
  await drainSecurityInbox(stack);
  service = await startService(stack, VERIFY);
  // The configuration the service runs with, loaded the way it loads it.
  config = loadConfig({ env: service.env });
});

afterAll(async () => {
  expect(await service.stop()).toBe(0);
});

describe('deadlines.verify = 5 business days, end to end', () => {
  it("a new case's verify deadline is 5 business days after its report, and the acknowledgment promises that date", async () => {
    expect(config.deadlines.verify).toEqual({ amount: 5, unit: 'business_days' });
    const { raw, messageId } = fixture('report-plain.eml');
    await deliver(stack, raw, 'reporter1@psirt.test');
    const caseId = await appliedCase(service.dbPath, messageId);
    const [row] = queryDb<{ created_at: string; due_at: string }>(
      service.dbPath,
      "SELECT c.created_at, d.due_at FROM cases c JOIN deadlines d ON d.case_id = c.id AND d.kind = 'verify' WHERE c.id = ?",
      caseId,
    );
    const calendar = createCalendar(config.calendar);
    const createdAt = new Date(row!.created_at);
    const inFive = calendar.add(createdAt, { amount: 5, unit: 'business_days' }).toISOString();
    const inSeven = calendar.add(createdAt, { amount: 7, unit: 'business_days' }).toISOString();
    expect(row!.due_at).toBe(inFive);
    expect(inSeven).not.toBe(inFive);

    const ack = await eventually(async () => (await repliesTo(stack, 'reporter1', messageId))[0], {
      timeoutMs: 20_000,
      what: `the acknowledgment of ${messageId}`,
    });
    const text = (await simpleParser(ack)).text ?? '';
    expect(text).toContain(`Your report is case ${caseId}`);
    const promised = /severity\) by ([^\n]+)\.\n/.exec(text)?.[1];
    const tz = config.calendar.time_zone;
    expect(promised).toBe(formatDate(inFive, tz));
    expect(promised).not.toBe(formatDate(inSeven, tz));
    // The disclosure promise counts from the fix, as deriveDeadlines does.
    expect(text.replace(/\s+/g, ' ')).toContain(
      `Without an agreed date we aim to disclose within ${formatSpan(config.deadlines.disclose)} of the fix being available.`,
    );
  });
});
