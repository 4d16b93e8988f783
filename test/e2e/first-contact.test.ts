import { workerStack } from '../support/worker-stack.js';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { ALICE, decryptAs, staffMail } from '../support/pgp-mail.js';
import {
  appliedCase,
  deliver,
  drainSecurityInbox,
  fixture,
  mailById,
  queryDb,
  repliesTo,
  startService,
  type RunningService,
} from '../support/service.js';

/**
 * Issue #10 item 3 on the real stack with the default limits (1 acknowledgment an hour to a first
 * contact, 5 to a known correspondent): reports through Postfix, answers read from the mailboxes.
 */
const stack = workerStack();
let service: RunningService;

const query = <T>(sql: string, ...params: unknown[]): T[] => queryDb<T>(service.dbPath, sql, ...params);

/** Delivers a report and waits until its case is committed; returns the case id. */
async function report(raw: Buffer, messageId: string, from: string): Promise<string> {
  await deliver(stack, raw, from);
  return appliedCase(service.dbPath, messageId, `case for ${messageId}`);
}

/** Every outbox row of the case sent (or failed): nothing more will leave for it. */
const settled = (caseId: string) =>
  eventually(
    () =>
      query<{ n: number }>(
        "SELECT count(*) AS n FROM outbox WHERE case_id = ? AND state NOT IN ('sent', 'failed')",
        caseId,
      )[0]?.n === 0
        ? true
        : undefined,
    { timeoutMs: 20_000, what: `outbox of ${caseId} settled` },
  );

beforeAll(async () => {
  await drainSecurityInbox(stack);
  service = await startService(stack, {
    PSIRT_ACKNOWLEDGMENT__MAX_PER_SENDER_PER_HOUR: '5',
    PSIRT_ACKNOWLEDGMENT__MAX_FIRST_CONTACT_PER_HOUR: '1',
  });
});

afterAll(async () => {
  expect(await service.stop()).toBe(0);
});

describe('acknowledgments to first contacts and known correspondents (issue #10, real stack)', () => {
  it('two first-contact reports from one address a second apart: two cases, one acknowledgment; /ack sends the other', async () => {
    // reporter3+<tag>@ lands in reporter3's mailbox and is an address nobody used before.
    const sender = `reporter3+${randomUUID().slice(0, 8)}@psirt.test`;
    const plain = (subject: string) => {
      const f = fixture('report-plain.eml', { subject });
      return {
        ...f,
        raw: Buffer.from(f.raw.toString('latin1').replaceAll('reporter1@psirt.test', sender), 'latin1'),
      };
    };
    const one = plain('First report');
    const two = plain('Second report');
    const first = await report(one.raw, one.messageId, sender);
    await new Promise((r) => setTimeout(r, 1000)); // "a second apart", as in the issue
    const second = await report(two.raw, two.messageId, sender);
    expect(second).not.toBe(first);
    await settled(first);
    await settled(second);
    await eventually(async () => (await repliesTo(stack, 'reporter3', one.messageId))[0], {
      timeoutMs: 20_000,
      what: 'the first acknowledgment',
    });
    expect(await repliesTo(stack, 'reporter3', two.messageId)).toEqual([]);
    expect(
      query<{ n: number }>(
        "SELECT count(*) AS n FROM outbox WHERE kind = 'acknowledgment' AND recipients = json_array(?)",
        sender,
      )[0]?.n,
    ).toBe(1);

    // alice's notification of the second case says the acknowledgment was held, and why (#16:
    // the one notification all three staff got).
    const note = query<{ message_id: string }>(
      `SELECT message_id FROM outbox WHERE kind = 'staff-notification' AND case_id = ?
         AND EXISTS (SELECT 1 FROM json_each(recipients) WHERE value = 'alice@psirt.test')`,
      second,
    )[0]!;
    const raw = await eventually(async () => (await mailById(stack, 'alice', note.message_id))[0], {
      timeoutMs: 20_000,
      what: "alice's notification",
    });
    expect(decryptAs('alice', raw).text).toMatch(/Acknowledgment: HELD BACK[\s\S]*first contact[\s\S]*\/ack/);

    // alice sends it with a signed /ack: the same acknowledgment, on the reporter's thread.
    const ack = staffMail({
      ...ALICE,
      subject: `Re: [${second}] Second report /ack`,
      body: 'Looks genuine, answer them.',
    });
    await deliver(stack, ack.raw, 'alice@psirt.test');
    const held = await eventually(async () => (await repliesTo(stack, 'reporter3', two.messageId))[0], {
      timeoutMs: 30_000,
      what: 'the acknowledgment sent by /ack',
    });
    const text = held.toString('latin1');
    expect(text).toContain(`Subject: Re: [${second}] Second report`);
    expect(text).toContain('Auto-Submitted: auto-replied');
    expect(
      query<{ state: string }>(
        "SELECT state FROM deadlines WHERE case_id = ? AND kind = 'acknowledge'",
        second,
      )[0],
    ).toEqual({ state: 'met' });
  }, 120_000);

  it('three reports from a sender with a pinned key: three acknowledgments', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      // reporter2 attaches their key (and signs with it); the first report pins it.
      const f = fixture('report-attached-key.eml', { subject: `Pinned-key report ${i}` });
      ids.push(f.messageId);
      await report(f.raw, f.messageId, 'reporter2@psirt.test');
      if (i < 2) await new Promise((r) => setTimeout(r, 1000));
    }
    for (const id of ids) {
      await eventually(async () => (await repliesTo(stack, 'reporter2', id))[0], {
        timeoutMs: 20_000,
        what: `acknowledgment of ${id}`,
      });
    }
    expect(
      query<{ k: string | null }>(
        `SELECT e.data ->> '$.knownBy' AS k FROM events e JOIN messages m ON m.id = e.data ->> '$.messageRowId'
         WHERE e.type = 'acknowledgment.queued' AND m.message_id IN (?, ?, ?) ORDER BY e.id`,
        ...ids,
      ).map((r) => r.k),
      // The fixture is also signed by that key: each report proves it by its signature.
    ).toEqual(['signature', 'signature', 'signature']);
  }, 120_000);
});
