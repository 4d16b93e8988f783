import { workerStack } from '../support/worker-stack.js';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { decryptAs, type StaffMailOptions } from '../support/pgp-mail.js';
import {
  appliedCase,
  deliver,
  drainSecurityInbox,
  fixture,
  mailById,
  mailWithSubject,
  queryDb,
  sendStaffMail,
  startService,
  type RunningService,
} from '../support/service.js';

/**
 * Issue #4 acceptance on the real stack: staff command mail signed by the real gpg, delivered
 * through Postfix into Dovecot, read by the service over IMAP; answers read from the mailboxes.
 */
const stack = workerStack();
const CVSS = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
const ALICE_FPR = '066E61E89B31D6AE5E0E6512F3A0804237898995';
let service: RunningService;
let caseId: string;
let reportId: string;

const query = <T>(sql: string, ...params: unknown[]): T[] => queryDb<T>(service.dbPath, sql, ...params);
const kase = () =>
  query<{
    stage: string;
    resolution: string | null;
    severity: string | null;
    cvss_score: number | null;
    assignee: string | null;
  }>('SELECT stage, resolution, severity, cvss_score, assignee FROM cases WHERE id = ?', caseId)[0]!;

/** Sends a staff mail through Postfix and waits until the intake applied it. */
async function send(o: Omit<StaffMailOptions, 'from' | 'body'> & { from?: string; body?: string }) {
  return sendStaffMail(stack, service.dbPath, { body: 'Internal: looks real.', ...o });
}

/** Mail about the case in a mailbox (subject carries the case id). */
const caseMail = (user: string) => mailWithSubject(stack, user, caseId);

async function outboxSent(kind: string, dedupe: string): Promise<{ message_id: string }> {
  return eventually(
    () =>
      query<{ message_id: string }>(
        "SELECT message_id FROM outbox WHERE kind = ? AND dedupe_key LIKE ? AND state = 'sent'",
        kind,
        dedupe,
      )[0],
    { timeoutMs: 20_000, what: `${kind} ${dedupe} sent` },
  );
}

/** The confirmation (or rejection) answering one staff mail, from the member's mailbox, decrypted. */
async function answer(
  user: string,
  kind: 'command-confirmation' | 'command-rejected',
  staffMessageId: string,
) {
  const row = await eventually(
    () =>
      query<{ message_id: string; state: string }>(
        `SELECT o.message_id, o.state FROM outbox o JOIN messages m ON o.dedupe_key = ? || m.id
         WHERE m.message_id = ? AND o.kind = ?`,
        kind === 'command-confirmation' ? 'confirm:' : 'reject:',
        staffMessageId,
        kind,
      ).find((r) => r.state === 'sent'),
    { timeoutMs: 20_000, what: `${kind} for ${staffMessageId}` },
  );
  const raw = await eventually(async () => (await mailById(stack, user, row.message_id))[0], {
    timeoutMs: 20_000,
    what: `${kind} in ${user}'s mailbox`,
  });
  const { text, status } = decryptAs(user, raw);
  expect(status).toContain('DECRYPTION_OKAY');
  return { raw, text };
}

beforeAll(async () => {
  await drainSecurityInbox(stack);
  service = await startService(stack);
  // reporter2 attaches their key: mail to them is encrypted to it.
  const report = fixture('report-attached-key.eml');
  reportId = report.messageId;
  await deliver(stack, report.raw, 'reporter2@psirt.test');
  caseId = await appliedCase(service.dbPath, reportId);
  await outboxSent('acknowledgment', '%');
});

afterAll(async () => {
  expect(await service.stop()).toBe(0);
});

describe('staff commands by mail (real Dovecot, Postfix, Redis, gpg)', () => {
  let assignMail: { raw: Buffer; messageId: string };

  it("applies alice's gpg-signed /assign bob /cvss: 9.8 critical, the critical fix deadline, her fingerprint in the log", async () => {
    assignMail = await send({ signer: 'alice', subject: `Re: [${caseId}] Report /assign bob /cvss ${CVSS}` });
    expect(kase()).toMatchObject({
      assignee: 'bob@psirt.test',
      severity: 'critical',
      cvss_score: 9.8,
      stage: 'triage',
    });
    const created = query<{ created_at: string }>('SELECT created_at FROM cases WHERE id = ?', caseId)[0]!;
    const fix = query<{ due_at: string; state: string }>(
      "SELECT due_at, state FROM deadlines WHERE case_id = ? AND kind = 'fix'",
      caseId,
    )[0]!;
    // config/test.toml: deadlines.fix.critical = 1200 seconds, counted from the report.
    expect(Date.parse(fix.due_at) - Date.parse(created.created_at)).toBe(1_200_000);
    expect(fix.state).toBe('open');
    const events = query<{ type: string; auth: string; message_id: string }>(
      "SELECT type, auth, message_id FROM events WHERE case_id = ? AND type IN ('case.assigned', 'case.severity-set')",
      caseId,
    );
    expect(events).toEqual([
      { type: 'case.assigned', auth: `pgp:${ALICE_FPR}`, message_id: assignMail.messageId },
      { type: 'case.severity-set', auth: `pgp:${ALICE_FPR}`, message_id: assignMail.messageId },
    ]);
    const { raw, text } = await answer('alice', 'command-confirmation', assignMail.messageId);
    const parsed = await simpleParser(raw);
    expect(parsed.inReplyTo).toBe(`<${assignMail.messageId}>`);
    expect(parsed.subject).not.toContain('/assign');
    expect(text).toMatch(/applied\s+\/assign bob/);
    expect(text).toMatch(/CVSS 3\.1 base score 9\.8: severity critical/);
    expect(text).toContain('Stage:       triage');
  });

  it.each([
    ['unsigned', { signer: null }],
    ['signed by an unrelated key', { signer: 'reporter3' }],
    ['unsigned, with a forged Reply-To', { signer: null, headers: ['Reply-To: mallory@psirt.test'] }],
    [
      'with a fake Authentication-Results from an untrusted authserv-id',
      { signer: null, headers: ['Authentication-Results: mx.evil.example; dkim=pass header.d=psirt.test'] },
    ],
  ] as const)(
    'changes nothing for the same subject %s; alice is told, the reporter gets nothing',
    async (_n, o) => {
      const before = kase();
      const reporterBefore = (await caseMail('reporter2')).length;
      const malloryBefore = (await caseMail('mallory')).length;
      const mail = await send({
        ...o,
        subject: `Re: [${caseId}] Report /assign carol /severity low /close spam /reply`,
      });
      expect(kase()).toEqual(before);
      const { text } = await answer('alice', 'command-rejected', mail.messageId);
      expect(text).toContain('NOT authenticated');
      expect(text).toContain(mail.messageId);
      expect(
        query(
          "SELECT type FROM events WHERE message_id = ? AND type = 'staff.unauthenticated'",
          mail.messageId,
        ),
      ).toHaveLength(1);
      expect(service.out.text).toContain('"event":"commands.unauthenticated"');
      expect((await caseMail('reporter2')).length).toBe(reporterBefore);
      expect((await caseMail('mallory')).length).toBe(malloryBefore);
    },
  );

  it('changes nothing when the same signed mail is delivered again', async () => {
    await deliver(stack, assignMail.raw, 'alice@psirt.test');
    await eventually(
      () =>
        query("SELECT id FROM messages WHERE message_id = ? AND state = 'applied'", assignMail.messageId)
          .length === 2
          ? true
          : undefined,
      { timeoutMs: 20_000, what: 'the second copy applied' },
    );
    expect(query("SELECT id FROM events WHERE case_id = ? AND type = 'case.assigned'", caseId)).toHaveLength(
      1,
    );
    expect(
      query(
        "SELECT id FROM outbox WHERE kind = 'command-confirmation' AND in_reply_to = ?",
        assignMail.messageId,
      ),
    ).toHaveLength(1);
  });

  it('relays /reply to the reporter, encrypted, threaded, without the quoted report; a note reaches only staff', async () => {
    const reporterBefore = (await caseMail('reporter2')).length;
    const note = await send({
      signer: 'alice',
      subject: `Re: [${caseId}] Report`,
      body: 'Internal only: INTERNAL-NOTE-TEXT',
    });
    await answer('alice', 'command-confirmation', note.messageId);
    expect((await caseMail('reporter2')).length).toBe(reporterBefore);

    const previous = query<{ message_id: string }>(
      "SELECT message_id FROM outbox WHERE case_id = ? AND recipients = json_array('reporter2@psirt.test') ORDER BY id DESC LIMIT 1",
      caseId,
    )[0]!.message_id;
    const body = [
      'Hello, we reproduced it: STAFF-REPLY-TEXT.',
      '',
      'On Wed, 25 Nov 2026, Reporter Two <reporter2@psirt.test> wrote:',
      '> QUOTED-REPORT-TEXT',
    ].join('\n');
    const mail = await send({ signer: 'alice', subject: `Re: [${caseId}] Report /reply`, body });
    const row = await outboxSent('reporter-reply', '%');
    const raw = await eventually(async () => (await mailById(stack, 'reporter2', row.message_id))[0], {
      timeoutMs: 20_000,
      what: 'the reply in reporter2',
    });
    expect(raw.toString()).toContain('multipart/encrypted');
    const parsed = await simpleParser(raw);
    expect(parsed.inReplyTo).toBe(`<${previous}>`);
    expect(parsed.references).toContain(`<${reportId}>`);
    expect(parsed.headers.get('auto-submitted')).toBeUndefined();
    const { text } = decryptAs('reporter2', raw);
    expect(text).toContain('STAFF-REPLY-TEXT');
    expect(text).not.toContain('QUOTED-REPORT-TEXT');
    expect(text).not.toContain('INTERNAL-NOTE-TEXT');
    expect(mail.messageId).not.toBe(row.message_id);
  });

  it("rejects a command outside the sender's RACI role and an illegal transition, telling them why", async () => {
    const mail = await send({
      from: 'Bob Tester <bob@psirt.test>',
      signer: 'bob',
      subject: `Re: [${caseId}] Report /cvss CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:U/C:L/I:L/A:N /fixed`,
    });
    expect(kase()).toMatchObject({ severity: 'critical', stage: 'triage' });
    const { text } = await answer('bob', 'command-confirmation', mail.messageId);
    expect(text).toMatch(/REJECTED\s+\/cvss/);
    expect(text).toContain('needs the role security or manager; you have developer');
    expect(text).toMatch(
      /REJECTED\s+\/fixed\s+the case is in stage triage; fixed is possible only from fixing/,
    );
  });

  it('/close duplicate sends the duplicate text and stops the deadlines', async () => {
    await send({ signer: 'alice', subject: `Re: [${caseId}] Report /close duplicate` });
    expect(kase()).toMatchObject({ stage: 'closed', resolution: 'duplicate' });
    expect(query("SELECT kind FROM deadlines WHERE case_id = ? AND state = 'open'", caseId)).toEqual([]);
    const row = await outboxSent('reporter-status', '%:closed-duplicate');
    const raw = await eventually(async () => (await mailById(stack, 'reporter2', row.message_id))[0], {
      timeoutMs: 20_000,
      what: 'the duplicate status mail',
    });
    const { text } = decryptAs('reporter2', raw);
    expect(text).toContain('already been');
    expect(text).toContain('closed this case as a duplicate');
  });

  it('puts the closed case on legal hold with a signed /hold "reason": recorded, confirmed, never logged (#13)', async () => {
    const reason = `litigation HOLD-REASON-${String(Date.now())}`;
    const mail = await send({ signer: 'alice', subject: `Re: [${caseId}] Report /hold "${reason}"` });
    expect(query('SELECT on_hold, hold_reason, held_by FROM cases WHERE id = ?', caseId)[0]).toEqual({
      on_hold: 1,
      hold_reason: reason,
      held_by: 'alice@psirt.test',
    });
    const { text } = await answer('alice', 'command-confirmation', mail.messageId);
    expect(text).toMatch(new RegExp(`applied\\s+/hold "${reason}"`));
    expect(text).toContain(`Legal hold:  on legal hold: ${reason}`);
    expect(text).toContain('by alice@psirt.test');
    expect(service.out.text).toContain('"event":"commands.authenticated"');
    expect(service.out.text).not.toContain('HOLD-REASON-');
  });
});
