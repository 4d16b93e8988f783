import { workerStack } from '../support/worker-stack.js';
import { randomBytes } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { openMailbox } from '../support/mailbox.js';
import {
  ALICE,
  decryptAs,
  decryptEntity,
  encryptedMail,
  type StaffMailOptions,
} from '../support/pgp-mail.js';
import {
  appliedCase,
  deliver,
  drainSecurityInbox,
  mailById,
  queryDb,
  sendStaffMail,
  startService,
  whenApplied,
  type RunningService,
} from '../support/service.js';

/**
 * Issue #10 acceptance on the real stack (items 1 and 2): a PGP/MIME report whose real subject
 * (a random canary) travels only in its protected headers never shows that subject in a clear
 * header or clear part of any mail the service sends — acknowledgment, staff notifications,
 * confirmation, assignment, status mail, `/reply`, escalations, outside expertise — in any
 * mailbox of the stack; the encrypted ones show it after decryption. And a signed staff mail
 * whose outer Subject was altered after signing changes nothing.
 */
const stack = workerStack();
const CANARY = `CANARY${randomBytes(8).toString('hex').toUpperCase()}`;
// Triage due 20 s after the report: the ladder reminds the security staff 6 s before, tells
// on-call at 20 s and the accountable role at 26 s.
const POLICY = { PSIRT_DEADLINES__TRIAGE__AMOUNT: '20' };
let service: RunningService;
let caseId: string;
let reportId: string;

const query = <T>(sql: string, ...params: unknown[]): T[] => queryDb<T>(service.dbPath, sql, ...params);

interface Row {
  id: number;
  kind: string;
  recipients: string;
  message_id: string;
  state: string;
  payload: string;
}
const templateOf = (r: Row): string => (JSON.parse(r.payload) as { template: string }).template;
const rows = (): Row[] =>
  query<Row>('SELECT id, kind, recipients, message_id, state, payload FROM outbox WHERE case_id = ?', caseId);

async function sendStaff(o: Omit<StaffMailOptions, 'from' | 'body' | 'signer'> & { body?: string }) {
  return sendStaffMail(stack, service.dbPath, o);
}

/** Every message in every folder of every mailbox of the stack, raw. */
async function everyMailbox(): Promise<Array<{ user: string; raw: Buffer }>> {
  const out: Array<{ user: string; raw: Buffer }> = [];
  for (const user of stack.users) {
    const client = await openMailbox(stack, user);
    try {
      for (const box of await client.list()) {
        const lock = await client.getMailboxLock(box.path);
        try {
          if (client.mailbox === false || client.mailbox.exists === 0) continue;
          for await (const m of client.fetch('1:*', { source: true }))
            if (m.source !== undefined) out.push({ user, raw: m.source });
        } finally {
          lock.release();
        }
      }
    } finally {
      await client.logout();
    }
  }
  return out;
}

/** `eventually`, failing with the case's outbox kinds and states (what is missing). */
async function waitAll<T>(
  fn: () => T | undefined,
  opts: { timeoutMs: number; intervalMs: number; what: string },
): Promise<T> {
  try {
    return await eventually(fn, opts);
  } catch (err) {
    const seen = rows().map((r) => `${r.kind}:${r.state}`);
    const events = query<{ type: string }>(
      'SELECT type FROM events WHERE case_id = ? OR case_id IS NULL',
      caseId,
    ).map((e) => e.type);
    throw new Error(`${(err as Error).message}; outbox: ${seen.join(' ')}; events: ${events.join(' ')}`, {
      cause: err,
    });
  }
}

const ARMOR = /-----BEGIN PGP MESSAGE-----[\s\S]+?-----END PGP MESSAGE-----/g;

/** Where the canary shows in clear: raw bytes outside the armor, decoded headers, clear parts. */
async function clearLeaks(raw: Buffer): Promise<string[]> {
  const leaks: string[] = [];
  if (raw.toString('latin1').replace(ARMOR, '').includes(CANARY)) leaks.push('raw bytes');
  const parsed = await simpleParser(raw);
  if ((parsed.subject ?? '').includes(CANARY)) leaks.push('Subject');
  for (const line of parsed.headerLines) if (line.line.includes(CANARY)) leaks.push(`header ${line.key}`);
  if ((parsed.text ?? '').replace(ARMOR, '').includes(CANARY)) leaks.push('text part');
  if (typeof parsed.html === 'string' && parsed.html.includes(CANARY)) leaks.push('html part');
  for (const a of parsed.attachments)
    if (a.content.toString('utf8').replace(ARMOR, '').includes(CANARY)) leaks.push(`part ${a.contentType}`);
  return leaks;
}

beforeAll(async () => {
  await drainSecurityInbox(stack);
  service = await startService(stack, POLICY);
  // reporter1's client (Thunderbird-style): signed and encrypted, its key inside, the real
  // subject only in the protected headers, `...` outside.
  const report = encryptedMail({
    from: 'Reporter One <reporter1@psirt.test>',
    subject: `${CANARY} pre-auth RCE in the updater`,
    outerSubject: '...',
    body: 'The updater fetches over plain HTTP and runs what it gets.',
    signer: 'reporter1',
    attachKey: true,
  });
  reportId = report.messageId;
  await deliver(stack, report.raw, 'reporter1@psirt.test');
  caseId = await appliedCase(service.dbPath, reportId);
}, 60_000);

afterAll(async () => {
  expect(await service.stop()).toBe(0);
});

describe('RFC 9788 header protection of everything we send (issue #10, item 1)', () => {
  it('sends acknowledgment, notifications, escalations, confirmation, assignment, status, /reply and outside expertise with the canary only inside encryption', async () => {
    // The ladder: the reminder to the security staff (encrypted) and on-call (no key: signed).
    await eventually(
      () => rows().filter((r) => r.kind === 'escalation' && r.state === 'sent').length >= 2 || undefined,
      { timeoutMs: 45_000, intervalMs: 500, what: 'two escalation steps sent' },
    );
    // alice answers from a client that encrypts to the team key with protected headers (her
    // subject quotes the real one, as a reply from the decrypted notification does).
    const command = encryptedMail({
      from: ALICE.from,
      subject: `Re: [${caseId}] New report: ${CANARY} pre-auth RCE /assign bob /triage /tag zero-day /reply`,
      outerSubject: '...',
      body: 'Thanks, we reproduced it and are working on a fix.',
      signer: 'alice',
    });
    await deliver(stack, command.raw, 'alice@psirt.test');
    await whenApplied(service.dbPath, command.messageId);
    const want = [
      'acknowledgment',
      'staff-notification',
      'escalation',
      'command-confirmation',
      'assignment',
      'reporter-status',
      'reporter-reply',
      'outside-expertise',
    ];
    const sent = await waitAll(
      () => {
        const all = rows();
        return want.every((k) => all.some((r) => templateOf(r) === k && r.state === 'sent')) &&
          all.every((r) => r.state === 'sent' || r.state === 'failed')
          ? all
          : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 500, what: `every kind of mail sent (${want.join(', ')})` },
    );
    expect(sent.filter((r) => r.state === 'failed')).toEqual([]);

    // Nothing in any mailbox of the stack shows the canary outside PGP armor.
    const all = await everyMailbox();
    const leaks: string[] = [];
    for (const m of all) {
      const where = await clearLeaks(m.raw);
      if (where.length > 0)
        leaks.push(`${m.user}: ${(await simpleParser(m.raw)).messageId ?? '?'} in ${where.join(', ')}`);
    }
    expect(leaks).toEqual([]);
    // Nor the service's log, nor a clear column of its database.
    expect(service.out.text).not.toContain(CANARY);
    const clearColumns = JSON.stringify([
      query('SELECT * FROM cases'),
      query('SELECT id, case_id, kind, recipients, subject, payload, last_error FROM outbox'),
      query('SELECT * FROM events'),
    ]);
    expect(clearColumns).not.toContain(CANARY);

    // Each mail we sent is in its recipient's mailbox; the encrypted ones carry the real subject
    // inside, marked as protected headers, and a neutral outer subject with the case tag.
    const keyed: Record<string, string> = {
      'reporter1@psirt.test': 'reporter1',
      'alice@psirt.test': 'alice',
      'bob@psirt.test': 'bob',
      'carol@psirt.test': 'carol',
    };
    let realInside = 0;
    // Every recipient of each row: a staff notification is one mail to all three (#16).
    for (const [r, to] of sent.flatMap((r) =>
      (JSON.parse(r.recipients) as string[]).map((to) => [r, to] as const),
    )) {
      const user = to.split('@')[0]!;
      const raw = await eventually(async () => (await mailById(stack, user, r.message_id))[0], {
        timeoutMs: 20_000,
        what: `${r.kind} in ${user}'s mailbox`,
      });
      const outer = await simpleParser(raw);
      expect(outer.subject, `${r.kind} to ${to}`).toMatch(new RegExp(`\\[${caseId}\\]`));
      const key = keyed[to];
      if (key === undefined) {
        // oncall and lead have no key: signed, in clear, and only metadata.
        expect(raw.toString()).toContain('multipart/signed');
        continue;
      }
      expect(raw.toString(), `${r.kind} to ${to} is encrypted`).toContain('multipart/encrypted');
      expect(outer.subject).toMatch(new RegExp(`^(Re: )?\\[${caseId}\\] \\.\\.\\.$`));
      const { entity, status } = decryptEntity(key, raw);
      expect(status).toContain('DECRYPTION_OKAY');
      expect(entity.toString('latin1').split(/\r?\n\r?\n/)[0]).toMatch(
        /protected-headers="?v1"?; hp="?cipher"?/,
      );
      const inner = await simpleParser(entity);
      expect(inner.messageId).toBe(`<${r.message_id}>`);
      if ((inner.subject ?? '').includes(CANARY)) realInside += 1;
    }
    // Acknowledgment, the notification in each of the three staff mailboxes, confirmation, status
    // mail and /reply name it inside.
    expect(realInside).toBeGreaterThanOrEqual(7);
    const ack = sent.find((r) => r.kind === 'acknowledgment')!;
    const ackRaw = (await mailById(stack, 'reporter1', ack.message_id))[0]!;
    expect((await simpleParser(decryptEntity('reporter1', ackRaw).entity)).subject).toBe(
      `Re: [${caseId}] ${CANARY} pre-auth RCE in the updater`,
    );
  }, 150_000);
});

describe('commands only from what the signature covers (issue #10, item 2)', () => {
  const tags = () => query<{ tags: string }>('SELECT tags FROM cases WHERE id = ?', caseId)[0]!.tags;

  it('a signed mail whose outer Subject was altered after signing changes nothing; alice is told why', async () => {
    const before = tags();
    const mail = await sendStaff({
      subject: `Re: [${caseId}] ... /tag firmware`,
      outerSubject: `Re: [${caseId}] ... /close spam /reply`,
    });
    expect(query<{ stage: string }>('SELECT stage FROM cases WHERE id = ?', caseId)[0]!.stage).not.toBe(
      'closed',
    );
    expect(tags()).toBe(before);
    expect(
      query<{ n: number }>(
        "SELECT count(*) AS n FROM events WHERE case_id = ? AND type = 'staff.tampered'",
        caseId,
      )[0]!.n,
    ).toBe(1);
    const row = await eventually(
      () =>
        query<{ message_id: string; state: string }>(
          `SELECT o.message_id, o.state FROM outbox o JOIN messages m ON o.dedupe_key = 'reject:' || m.id
           WHERE m.message_id = ?`,
          mail.messageId,
        ).find((r) => r.state === 'sent'),
      { timeoutMs: 20_000, what: 'the rejection sent' },
    );
    const raw = await eventually(async () => (await mailById(stack, 'alice', row.message_id))[0], {
      timeoutMs: 20_000,
      what: 'the rejection in alice’s mailbox',
    });
    const { text, status } = decryptAs('alice', raw);
    expect(status).toContain('DECRYPTION_OKAY');
    expect(text).toMatch(/changed it after you signed/);
    expect(text).toMatch(/commands in the outer Subject differ from those in the signed/);
    expect(service.out.text).toContain('"commands.tampered"');
  });

  it('the same commands, untampered, apply', async () => {
    await sendStaff({ subject: `Re: [${caseId}] ... /tag firmware` });
    expect(JSON.parse(tags())).toContain('firmware');
  });

  it('a signed mail without protected headers (the signature does not cover the Subject) changes nothing', async () => {
    const before = tags();
    await sendStaff({ subject: `Re: [${caseId}] ... /tag crypto`, protectedHeaders: false });
    expect(tags()).toBe(before);
  });
});
