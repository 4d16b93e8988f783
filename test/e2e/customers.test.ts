import { workerStack } from '../support/worker-stack.js';
import { simpleParser, type AddressObject } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/7-cases/db.js';
import { readEvidencePeriod } from '../../src/7-cases/evidence-store.js';
import { eventually } from '../support/eventually.js';
import { decryptAs } from '../support/pgp-mail.js';
import {
  appliedCase,
  deliver,
  drainSecurityInbox,
  fixture,
  mailWithSubject,
  queryDb,
  sendStaffMail,
  startService,
  type RunningService,
} from '../support/service.js';

/**
 * Issue #14 acceptance, customer notification, on the real stack: a report driven by commands
 * signed by carol (manager, the accountable role of /notify) to a published advisory; /notify
 * mails the two customers of acme-router (config/test.toml: customer1 with a key, customer2
 * without), one mail each; customer3 (acme-cloud only) gets nothing; repeating sends nothing;
 * /revise … /notify sends two updates.
 */
const stack = workerStack();
const CVSS = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
const TITLE = 'Stored XSS in the ACME Router admin console';
let service: RunningService;
let caseId: string;

const query = <T>(sql: string, ...params: unknown[]): T[] => queryDb<T>(service.dbPath, sql, ...params);
const asCarol = (subject: string, body = 'ok') =>
  sendStaffMail(stack, service.dbPath, {
    from: 'Carol Tester <carol@psirt.test>',
    signer: 'carol',
    subject: `Re: [${caseId}] Report ${subject}`,
    body,
  });

/** Mail about the case in a customer's mailbox; earlier runs' mail (same case id) is left out. */
const before = new Map<string, number>();
const customerMail = async (user: string) =>
  (await mailWithSubject(stack, user, caseId)).slice(before.get(user) ?? 0);

/** Waits until every customer-advisory row of the case is sent, and returns how many there are. */
async function allCustomerMailSent(expected: number): Promise<void> {
  await eventually(
    () => {
      const rows = query<{ state: string }>(
        "SELECT state FROM outbox WHERE case_id = ? AND kind = 'customer-advisory'",
        caseId,
      );
      return rows.length === expected && rows.every((r) => r.state === 'sent') ? true : undefined;
    },
    { timeoutMs: 30_000, what: `${expected} customer mails sent` },
  );
}

/** Waits until `user`'s mailbox holds `n` mails about the case. */
async function mailbox(user: string, n: number): Promise<Buffer[]> {
  return eventually(
    async () => {
      const mails = await customerMail(user);
      return mails.length === n ? mails : undefined;
    },
    { timeoutMs: 20_000, what: `${n} mails about the case in ${user}'s mailbox` },
  );
}

const addresses = (a: AddressObject | AddressObject[] | undefined): string[] =>
  (Array.isArray(a) ? a : a === undefined ? [] : [a]).flatMap((x) => x.value.map((v) => v.address ?? ''));

beforeAll(async () => {
  await drainSecurityInbox(stack);
  service = await startService(stack);
  const report = fixture('report-plain.eml');
  await deliver(stack, report.raw, 'reporter1@psirt.test');
  caseId = await appliedCase(service.dbPath, report.messageId);
  // The stack's mailboxes outlive a run: count what is there already.
  for (const u of ['customer1', 'customer2', 'customer3'])
    before.set(u, (await mailWithSubject(stack, u, caseId)).length);
});

afterAll(async () => {
  expect(await service.stop()).toBe(0);
});

describe('customer notification (/notify) on the real stack', () => {
  it('drives the case to a published advisory of acme-router by signed commands', async () => {
    await asCarol(`/triage /cvss ${CVSS} /verified /fixed`);
    await asCarol(
      `/title "${TITLE}" /affects acme-router <2.4.1 /fixed-in acme-router 2.4.1 /cwe CWE-79 ` +
        '/no-draft "reporter asked not to review" /publish https://psirt.test/advisories/xss-1',
    );
    const c = query<{ stage: string; published_at: string | null }>(
      'SELECT stage, published_at FROM cases WHERE id = ?',
      caseId,
    )[0]!;
    expect(c.published_at).not.toBeNull();
    expect(
      query('SELECT number FROM advisory_versions WHERE case_id = ? AND kind = ?', caseId, 'revision'),
    ).toEqual([{ number: 1 }]);
  });

  it('/notify: exactly two mails, one per customer of acme-router, one recipient each, one encrypted', async () => {
    await asCarol('/notify');
    await allCustomerMailSent(2);
    const [one] = await mailbox('customer1', 1);
    const [two] = await mailbox('customer2', 1);
    // Each mail names only its own customer: no Cc, no Bcc, one address in To.
    for (const [raw, user] of [
      [one!, 'customer1'],
      [two!, 'customer2'],
    ] as const) {
      const p = await simpleParser(raw);
      expect(addresses(p.to)).toEqual([`${user}@psirt.test`]);
      expect(addresses(p.cc)).toEqual([]);
      expect(addresses(p.bcc)).toEqual([]);
      expect(addresses(p.from)).toEqual(['security@psirt.test']);
      expect(p.inReplyTo).toBeUndefined();
    }
    // customer1 has a key: encrypted to it, the advisory inside.
    expect(one!.toString('latin1')).toContain('multipart/encrypted');
    expect(one!.toString('latin1')).not.toContain(TITLE);
    const { text, status } = decryptAs('customer1', one!);
    expect(status).toContain('DECRYPTION_OKAY');
    expect(text).toContain('Dear Customer One Test GmbH');
    expect(text).toContain(TITLE);
    // The body is the human advisory from the shared template (config/templates/advisory.txt).
    expect(text).toContain('ACME Router: all versions before 2.4.1 (`<2.4.1`)');
    expect(text).toContain('https://psirt.test/advisories/xss-1');
    expect(text).not.toContain('Customer Two');
    // customer2 has none: signed, in clear (the advisory is public).
    expect(two!.toString('latin1')).toContain('multipart/signed');
    const clear = (await simpleParser(two!)).text ?? '';
    expect(clear).toContain('Dear Customer Two Test AG');
    expect(clear).toContain(TITLE);
    expect(clear).not.toContain('Customer One');
    // customer3 runs only acme-cloud: nothing.
    expect(await customerMail('customer3')).toEqual([]);
    expect(
      query(
        'SELECT customer, address, revision, encrypted FROM customer_notifications WHERE case_id = ? ORDER BY id',
        caseId,
      ),
    ).toEqual([
      { customer: 'Customer One Test GmbH', address: 'customer1@psirt.test', revision: 1, encrypted: 1 },
      { customer: 'Customer Two Test AG', address: 'customer2@psirt.test', revision: 1, encrypted: 0 },
    ]);
  });

  it('/notify again sends nothing new', async () => {
    await asCarol('/notify');
    const event = await eventually(
      () =>
        query<{ data: string }>(
          "SELECT data FROM events WHERE case_id = ? AND type = 'advisory.customers-notified' ORDER BY id",
          caseId,
        )[1],
      { timeoutMs: 10_000, what: 'the second notify event' },
    );
    expect(JSON.parse(event.data)).toMatchObject({ revision: 1, notified: 0, alreadyTold: 2 });
    expect(
      query("SELECT id FROM outbox WHERE case_id = ? AND kind = 'customer-advisory'", caseId),
    ).toHaveLength(2);
    // Give the mailer its chance: still one mail each.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await customerMail('customer1')).toHaveLength(1);
    expect(await customerMail('customer2')).toHaveLength(1);
    expect(query('SELECT id FROM customer_notifications WHERE case_id = ?', caseId)).toHaveLength(2);
  });

  it('/revise … /notify sends revision 2 to both as an update', async () => {
    await asCarol('/revise "Fixed version corrected" /fixed-in acme-router 2.4.2 /notify');
    await allCustomerMailSent(4);
    const ones = await mailbox('customer1', 2);
    const twos = await mailbox('customer2', 2);
    expect(await customerMail('customer3')).toEqual([]);
    const texts = [...ones.map((raw) => decryptAs('customer1', raw))].map((d) => d.text);
    expect(texts.filter((t) => t.includes('has a new revision (2)'))).toHaveLength(1);
    const clear = await Promise.all(twos.map(async (raw) => (await simpleParser(raw)).text ?? ''));
    expect(clear.filter((t) => t.includes('has a new revision (2)'))).toHaveLength(1);
    expect(
      query(
        'SELECT customer, revision, encrypted FROM customer_notifications WHERE case_id = ? ORDER BY id',
        caseId,
      ),
    ).toEqual([
      { customer: 'Customer One Test GmbH', revision: 1, encrypted: 1 },
      { customer: 'Customer Two Test AG', revision: 1, encrypted: 0 },
      { customer: 'Customer One Test GmbH', revision: 2, encrypted: 1 },
      { customer: 'Customer Two Test AG', revision: 2, encrypted: 0 },
    ]);
    const linked = query<{ n: number }>(
      `SELECT count(*) AS n FROM customer_notifications n JOIN outbox o ON o.id = n.outbox_id
       WHERE n.case_id = ? AND o.kind = 'customer-advisory' AND o.recipients = json_array(n.address)`,
      caseId,
    )[0]!;
    expect(linked.n).toBe(4);
    // The evidence pack's reading: who was told of which revision, queued and sent when.
    const db = openDatabase(service.dbPath, { readonly: true });
    try {
      const period = readEvidencePeriod(db, { from: new Date(0), to: new Date(), includeSubjects: false });
      const told = (period.customerNotifications ?? []).filter((n) => n.case_id === caseId);
      expect(told.map((n) => [n.customer, n.revision, n.encrypted])).toEqual([
        ['Customer One Test GmbH', 1, true],
        ['Customer Two Test AG', 1, false],
        ['Customer One Test GmbH', 2, true],
        ['Customer Two Test AG', 2, false],
      ]);
      expect(told.every((n) => n.sent_at !== null && n.sent_at >= n.queued_at)).toBe(true);
    } finally {
      db.close();
    }
  });
});
