import { workerStack } from '../support/worker-stack.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateCsaf, validateCve, validateOsv } from '../../src/advisory/validate.js';
import { bytesAtRest } from '../support/at-rest.js';
import { runCli } from '../support/cli.js';
import { eventually } from '../support/eventually.js';
import { decryptAs, encryptedMail, staffMail, type StaffMailOptions } from '../support/pgp-mail.js';
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
 * Issue #14 items 2 and 3 acceptance on the real stack: one encrypted report driven to a
 * published advisory only by signed staff command mails; the draft goes to the reporter
 * encrypted and threaded; only the reporter's own `Credit:` line is recorded; the CLI renders
 * CSAF 2.0, OSV, CVE JSON 5 and Markdown that pass the official validators; the title and summary
 * are never at rest in clear, nor in the log.
 */
const stack = workerStack();
const canary = (what: string): string => `CANARY${what}${randomBytes(6).toString('hex').toUpperCase()}`;
const TITLE_CANARY = canary('TITLE');
const SUMMARY_CANARY = canary('SUMMARY');
const TITLE = `Heap overflow in the ${TITLE_CANARY} packet parser`;
const SUMMARY = `A crafted packet overflows a heap buffer in the parser (${SUMMARY_CANARY}); an unauthenticated remote attacker can run code on the router.`;
const CVSS = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
const CVE = 'CVE-2026-41234';
const CAROL = { from: 'Carol Tester <carol@psirt.test>', signer: 'carol' } as const;
const URL = 'https://psirt.test/advisories/acme-router-2026-1';

let service: RunningService;
let caseId: string;
let reportId: string;
let draftId: string;

const query = <T>(sql: string, ...params: unknown[]): T[] => queryDb<T>(service.dbPath, sql, ...params);
const kase = () =>
  query<{ stage: string; credit_preference: string | null; advisory_url: string | null }>(
    'SELECT stage, credit_preference, advisory_url FROM cases WHERE id = ?',
    caseId,
  )[0]!;

/** A command mail signed by carol (manager and security), applied by the intake. */
function command(subject: string, body = 'Internal: advisory work.', o: Partial<StaffMailOptions> = {}) {
  return sendStaffMail(stack, service.dbPath, { ...CAROL, subject, body, ...o });
}

/** The confirmation answering one of carol's command mails, from her mailbox, decrypted. */
async function confirmation(staffMessageId: string): Promise<string> {
  const row = await eventually(
    () =>
      query<{ message_id: string; state: string }>(
        `SELECT o.message_id, o.state FROM outbox o JOIN messages m ON o.dedupe_key = 'confirm:' || m.id
         WHERE m.message_id = ? AND o.kind = 'command-confirmation'`,
        staffMessageId,
      ).find((r) => r.state === 'sent'),
    { timeoutMs: 30_000, what: `the confirmation of ${staffMessageId}` },
  );
  const raw = await eventually(async () => (await mailById(stack, 'carol', row.message_id))[0], {
    timeoutMs: 30_000,
    what: "the confirmation in carol's mailbox",
  });
  const { text, status } = decryptAs('carol', raw);
  expect(status).toContain('DECRYPTION_OKAY');
  return text;
}

const canariesAtRest = (): string[] => {
  const bytes = bytesAtRest(service.dbPath);
  return [TITLE_CANARY, SUMMARY_CANARY].filter((c) => bytes.includes(c));
};

const cli = (args: string[]) => runCli(['advisory', ...args], service.env, 90_000);

beforeAll(async () => {
  await drainSecurityInbox(stack);
  service = await startService(stack);
  const report = encryptedMail({
    from: 'Reporter One <reporter1@psirt.test>',
    subject: 'Remote code execution in the router packet parser',
    outerSubject: '...',
    body: 'Sending a crafted packet to port 9000 crashes the parser with a heap overflow.',
    signer: 'reporter1',
    attachKey: true,
  });
  reportId = report.messageId;
  await deliver(stack, report.raw, 'reporter1@psirt.test');
  caseId = await appliedCase(service.dbPath, reportId, 'the encrypted report');
}, 60_000);

afterAll(async () => {
  if (service.child.exitCode === null) await service.stop();
});

describe('advisory from report to publication by signed staff commands (issue #14)', () => {
  it('sets the fields by signed command mails: triage, verified, CVSS, CWE, title, products, CVE, summary, fixed, reference', async () => {
    const fields = await command(
      `Re: [${caseId}] Report /triage /verified /cvss ${CVSS} /cwe CWE-787 /title "${TITLE}" ` +
        `/affects acme-router >=2.0.0,<2.4.1 /fixed-in acme-router 2.4.1 /cve ${CVE}`,
    );
    const text1 = await confirmation(fields.messageId);
    expect(text1).not.toMatch(/REJECTED/);
    expect(text1).toMatch(/applied\s+\/title/);
    // The confirmation names no product or range: unpublished, they describe the flaw (#14 review).
    expect(text1).toMatch(/applied\s+\/affects \(a product and its versions\)/);
    const summary = await command(`Re: [${caseId}] Report /summary`, SUMMARY);
    const text2 = await confirmation(summary.messageId);
    expect(text2).toMatch(/applied\s+\/summary/);
    const fixed = await command(
      `Re: [${caseId}] Report /fixed /ref https://psirt.test/fix/acme-router-2.4.1`,
    );
    const text3 = await confirmation(fixed.messageId);
    expect(text3).not.toMatch(/REJECTED/);
    expect(kase().stage).toBe('disclosure');
  }, 120_000);

  it('refuses /publish before any draft went to the reporter, saying why; the case is not published', async () => {
    const mail = await command(`Re: [${caseId}] Report /publish ${URL}`);
    const text = await confirmation(mail.messageId);
    expect(text).toMatch(/REJECTED\s+\/publish/);
    expect(text).toContain('no draft went to the reporter');
    expect(kase()).toMatchObject({ stage: 'disclosure', advisory_url: null });
    expect(query("SELECT id FROM events WHERE case_id = ? AND type = 'case.published'", caseId)).toEqual([]);
  }, 60_000);

  it('/draft mails the draft to the reporter, encrypted to their key, threaded on their thread, asking for their credit', async () => {
    const mail = await command(`Re: [${caseId}] Report /draft`);
    const text = await confirmation(mail.messageId);
    expect(text).toMatch(/applied\s+\/draft/);
    expect(text).toContain('encrypted to their pinned key');
    const row = await eventually(
      () =>
        query<{ message_id: string }>(
          "SELECT message_id FROM outbox WHERE case_id = ? AND kind = 'advisory-draft' AND state = 'sent'",
          caseId,
        )[0],
      { timeoutMs: 30_000, what: 'the draft sent' },
    );
    draftId = row.message_id;
    const raw = await eventually(async () => (await mailById(stack, 'reporter1', draftId))[0], {
      timeoutMs: 30_000,
      what: "the draft in reporter1's mailbox",
    });
    expect(raw.toString('latin1')).toContain('multipart/encrypted');
    expect(raw.toString('latin1')).not.toContain(TITLE_CANARY);
    expect(raw.toString('latin1')).not.toContain(SUMMARY_CANARY);
    // The reporter's thread: their report and what we mailed them before the draft (the
    // acknowledgment, the status mails).
    const thread = query<{ message_id: string; kind: string }>(
      "SELECT message_id, kind FROM outbox WHERE case_id = ? AND recipients = json_array('reporter1@psirt.test') AND message_id != ?",
      caseId,
      draftId,
    );
    expect(thread.map((r) => r.kind)).toContain('acknowledgment');
    const ours = [`<${reportId}>`, ...thread.map((r) => `<${r.message_id}>`)];
    const parsed = await simpleParser(raw);
    expect(ours).toContain(parsed.inReplyTo);
    const refs = [parsed.references ?? []].flat();
    expect(refs).toContain(`<${reportId}>`);
    const draft = decryptAs('reporter1', raw);
    expect(draft.status).toContain('DECRYPTION_OKAY');
    expect(draft.text).toContain(TITLE);
    expect(draft.text).toContain(SUMMARY_CANARY);
    expect(draft.text).toContain('"Credit:"');
    expect(draft.text).toContain('Credit: none');
    expect(draft.text).toContain(CVE);
  }, 90_000);

  it('ignores a Credit: line on the thread from another address', async () => {
    const mail = staffMail({
      from: 'Mallory <mallory@psirt.test>',
      signer: null,
      subject: `Re: [${caseId}] Report`,
      inReplyTo: draftId,
      references: [reportId, draftId],
      body: 'Please credit me.\n\nCredit: Mallory\n',
    });
    await deliver(stack, mail.raw, 'mallory@psirt.test');
    const applied = await whenApplied(service.dbPath, mail.messageId, "mallory's mail");
    // Her mail joined the case (else the NULL below would prove nothing).
    expect(applied.case_id).toBe(caseId);
    expect(kase().credit_preference).toBeNull();
    const ignored = query<{ data: string; message_id: string }>(
      "SELECT data, message_id FROM events WHERE case_id = ? AND type = 'case.credit-line-ignored'",
      caseId,
    );
    expect(ignored).toHaveLength(1);
    expect(ignored[0]!.message_id).toBe(mail.messageId);
    expect(JSON.parse(ignored[0]!.data)).toMatchObject({ reason: 'not-the-reporter' });
    expect(ignored[0]!.data).not.toContain('Mallory');
  }, 60_000);

  it("records the reporter's own Credit: line from their reply to the draft; staff get the follow-up", async () => {
    const quoted = decryptAs('reporter1', (await mailById(stack, 'reporter1', draftId))[0]!).text.replace(
      /^/gm,
      '> ',
    );
    const reply = encryptedMail({
      from: 'Reporter One <reporter1@psirt.test>',
      subject: `Re: [${caseId}] Advisory draft`,
      outerSubject: '...',
      inReplyTo: draftId,
      body: `Looks right to me.\n\nCredit: Jane Doe\n\nOn Tue, the PSIRT wrote:\n${quoted}\n`,
      signer: 'reporter1',
    });
    await deliver(stack, reply.raw, 'reporter1@psirt.test');
    const applied = await whenApplied(service.dbPath, reply.messageId, "the reporter's reply");
    expect(applied.case_id).toBe(caseId);
    expect(kase().credit_preference).toBe('Jane Doe');
    const notes = await eventually(
      () => {
        const rows = query<{ payload: string; state: string; message_id: string; recipients: string }>(
          "SELECT payload, state, message_id, recipients FROM outbox WHERE case_id = ? AND kind = 'staff-notification'",
          caseId,
        ).filter((r) => (JSON.parse(r.payload) as { messageRowId: number }).messageRowId === applied.id);
        return rows.length > 0 && rows.every((r) => r.state === 'sent') ? rows : undefined;
      },
      { timeoutMs: 30_000, what: 'the follow-up notifications sent' },
    );
    const payload = JSON.parse(notes[0]!.payload) as Record<string, unknown>;
    expect(payload).toMatchObject({
      event: 'follow-up',
      credit: { stated: { credit: 'Jane Doe', by: 'address' }, answersDraft: 1 },
    });
    const toCarol = notes.find((r) => r.recipients.includes('carol@'))!;
    const raw = await eventually(async () => (await mailById(stack, 'carol', toCarol.message_id))[0], {
      timeoutMs: 30_000,
      what: "the follow-up in carol's mailbox",
    });
    expect(decryptAs('carol', raw).text).toContain('Jane Doe');
  }, 90_000);

  it('keeps the title and summary out of the database, its WAL and the log in clear', () => {
    expect(canariesAtRest()).toEqual([]);
    expect(service.out.text).not.toContain(TITLE_CANARY);
    expect(service.out.text).not.toContain(SUMMARY_CANARY);
  });

  it('/publish after the draft publishes revision 1', async () => {
    const mail = await command(`Re: [${caseId}] Report /publish ${URL}`);
    const text = await confirmation(mail.messageId);
    expect(text).toMatch(/applied\s+\/publish/);
    expect(text).toContain(`published at ${URL} (revision 1)`);
    expect(kase()).toMatchObject({ advisory_url: URL });
    expect(
      query<{ n: number }>(
        "SELECT number AS n FROM advisory_versions WHERE case_id = ? AND kind = 'revision'",
        caseId,
      ),
    ).toEqual([{ n: 1 }]);
  }, 60_000);

  it('psirt advisory --format csaf prints a document the official validator accepts, crediting Jane Doe', async () => {
    const r = await cli([caseId, '--format', 'csaf']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      document: {
        title: string;
        acknowledgments?: { names?: string[] }[];
        tracking: { status: string; version: string };
      };
      vulnerabilities: { cve?: string }[];
    };
    expect(await validateCsaf(doc)).toEqual([]);
    expect(doc.document.title).toContain(TITLE);
    expect(doc.document.acknowledgments).toEqual([{ names: ['Jane Doe'] }]);
    expect(r.stdout).not.toContain('Mallory');
    expect(doc.document.tracking).toMatchObject({ status: 'final', version: '1.0.0' });
    expect(doc.vulnerabilities[0]?.cve).toBe(CVE);
  }, 120_000);

  it('psirt advisory --format osv, cve and markdown exit 0 and validate; --out writes 0600', async () => {
    const osv = await cli([caseId, '--format', 'osv']);
    expect(osv.stderr).toBe('');
    expect(osv.code).toBe(0);
    expect(validateOsv(JSON.parse(osv.stdout))).toEqual([]);
    const cve = await cli([caseId, '--format', 'cve']);
    expect(cve.stderr).toBe('');
    expect(cve.code).toBe(0);
    expect(validateCve(JSON.parse(cve.stdout))).toEqual([]);
    expect(cve.stdout).toContain(CVE);
    const md = await cli([caseId, '--format', 'markdown']);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain(TITLE);
    expect(md.stdout).toContain('Jane Doe');
    const out = join(mkdtempSync(join(tmpdir(), 'psirt-advisory-')), 'advisory.json');
    const written = await cli([caseId, '--format', 'csaf', '--out', out]);
    expect(written.code).toBe(0);
    expect(written.stdout).toBe('');
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(await validateCsaf(JSON.parse(readFileSync(out, 'utf8')))).toEqual([]);
  }, 180_000);

  it('psirt advisory of a case without a title exits 1 and names /title', async () => {
    const id = `${randomUUID()}@e2e.psirt.test`;
    const raw = Buffer.from(
      [
        'From: Reporter Three <reporter3@psirt.test>',
        'To: security@psirt.test',
        'Subject: Open redirect in the cloud console',
        `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
        `Message-ID: <${id}>`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'The login page redirects to any ?next= address.',
        '',
      ].join('\r\n'),
    );
    await deliver(stack, raw, 'reporter3@psirt.test');
    const other = await appliedCase(service.dbPath, id, 'the second report');
    expect(other).not.toBe(caseId);
    const r = await cli([other, '--format', 'csaf']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('/title');
  }, 120_000);

  it('no title or summary canary at rest or in the log after the service stopped', async () => {
    expect(await service.stop()).toBe(0);
    expect(canariesAtRest()).toEqual([]);
    expect(service.out.text).not.toContain(TITLE_CANARY);
    expect(service.out.text).not.toContain(SUMMARY_CANARY);
  });
});
