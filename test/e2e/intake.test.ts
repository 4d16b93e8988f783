import { workerStack } from '../support/worker-stack.js';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { eventually } from '../support/eventually.js';
import { decryptAs } from '../support/pgp-mail.js';
import {
  deliver,
  drainSecurityInbox,
  fixture,
  inSecurityFolder,
  mailById,
  queryDb,
  repliesTo,
  startService,
  type RunningService,
} from '../support/service.js';

const stack = workerStack();
let service: RunningService;

beforeAll(async () => {
  await drainSecurityInbox(stack);
  service = await startService(stack);
});

afterAll(async () => {
  expect(await service.stop()).toBe(0);
});

const query = <T>(sql: string, ...params: unknown[]): T[] => queryDb<T>(service.dbPath, sql, ...params);

/** The Message-ID of the first notification about a case that went to a staff member (#16: among others). */
function notificationId(caseId: string, staff: string): string {
  return (
    query<{ message_id: string }>(
      `SELECT message_id FROM outbox WHERE case_id = ? AND kind = 'staff-notification'
         AND EXISTS (SELECT 1 FROM json_each(recipients) WHERE value = ?) ORDER BY id LIMIT 1`,
      caseId,
      staff,
    )[0]?.message_id ?? 'none'
  );
}

/** The case a delivered message became, once the intake applied it. */
async function caseOf(messageId: string): Promise<{ id: string; flags: string }> {
  return eventually(
    () =>
      query<{ id: string; flags: string }>(
        'SELECT c.id, c.flags FROM messages m JOIN cases c ON c.id = m.case_id WHERE m.message_id = ?',
        messageId,
      )[0],
    { timeoutMs: 20_000, what: `a case for ${messageId}` },
  );
}

/** Our acknowledgment of `messageId` in the reporter's mailbox, once it arrived. */
async function ackFor(user: string, messageId: string): Promise<Buffer> {
  return eventually(async () => (await repliesTo(stack, user, messageId))[0], {
    timeoutMs: 20_000,
    what: `ack of ${messageId}`,
  });
}

describe('intake → case → acknowledgment (real Dovecot, Postfix, Redis)', () => {
  it('a PGP/MIME report carrying the key yields one case and one encrypted, threaded acknowledgment without report text', async () => {
    const { raw, messageId } = fixture('report-key-in-encrypted-part.eml');
    await deliver(stack, raw, 'reporter2@psirt.test');
    const c = await caseOf(messageId);
    const ack = await ackFor('reporter2', messageId);
    const parsed = await simpleParser(ack);
    expect(parsed.subject).toMatch(new RegExp(`^Re: \\[${c.id}\\] `));
    expect(parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(ack.toString()).toContain('multipart/encrypted');
    const { text, status } = decryptAs('reporter2', ack);
    expect(status).toContain('DECRYPTION_OKAY');
    expect(text).toContain(`Your report is case ${c.id}`);
    expect(text).not.toMatch(/Heap|overflow|exploit|PoC/i);
    expect(
      query('SELECT kind FROM outbox WHERE case_id = ? AND kind = ?', c.id, 'acknowledgment'),
    ).toHaveLength(1);
    expect(await inSecurityFolder(stack, 'Processed', messageId)).toBe(true);
  });

  it('sends the staff one mail with the report, one SMTP transaction, that each of them decrypts with their own key (#16)', async () => {
    const { raw, messageId } = fixture('report-pgp-mime.eml');
    await deliver(stack, raw);
    const c = await caseOf(messageId);
    const rows = query<{ recipients: string; message_id: string }>(
      "SELECT recipients, message_id FROM outbox WHERE case_id = ? AND kind = 'staff-notification'",
      c.id,
    );
    expect(rows.map((r) => r.recipients)).toEqual([
      '["alice@psirt.test","bob@psirt.test","carol@psirt.test"]',
    ]);
    const id = rows[0]!.message_id;
    const copies = await Promise.all(
      ['alice', 'bob', 'carol'].map((who) =>
        eventually(async () => (await mailById(stack, who, id))[0], {
          timeoutMs: 20_000,
          what: `${who}'s notification`,
        }),
      ),
    );
    // One transaction: Postfix queued one message (one queue id) for the three mailboxes.
    const queueIds = copies.map(
      (m) => /\(Postfix\) with E?SMTP id ([0-9A-Za-z]+)/.exec(m.toString('latin1'))?.[1],
    );
    expect(queueIds[0]).toBeDefined();
    expect(new Set(queueIds).size).toBe(1);
    let text = '';
    for (const [i, who] of ['alice', 'bob', 'carol'].entries()) {
      expect(copies[i]!.toString()).toContain('multipart/encrypted');
      const own = decryptAs(who, copies[i]!);
      expect(own.status).toContain('DECRYPTION_OKAY');
      expect(own.text).toContain('----- report -----');
      expect(own.text).toContain('poc.py');
      text = own.text;
    }
    // Invariant 6: the decrypted report reaches staff, never the service's log.
    const reportLine =
      (text.split('----- report -----')[1] ?? '').split('\n').find((l) => l.trim().length > 20) ?? '';
    expect(reportLine.trim().length).toBeGreaterThan(20);
    expect(service.out.text).not.toContain(reportLine.trim());
  });

  it.each([
    ['report-inline-pgp.eml', 'reporter1', 'signed'],
    ['report-signed-pgp-mime.eml', 'reporter1', 'signed'],
    ['report-attached-key.eml', 'reporter2', 'encrypted'],
    ['report-autocrypt.eml', 'reporter2', 'encrypted'],
    ['report-plain.eml', 'reporter1', 'signed'],
  ] as const)('%s gets a %s acknowledgment', async (name, user, kind) => {
    const { raw, messageId } = fixture(name);
    await deliver(stack, raw, `${user}@psirt.test`);
    await caseOf(messageId);
    const ack = await ackFor(user, messageId);
    expect(ack.toString()).toContain(kind === 'encrypted' ? 'multipart/encrypted' : 'multipart/signed');
    if (kind === 'signed') expect((await simpleParser(ack)).text).toContain('Your report is case');
  });

  it.each(['report-wrong-key.eml', 'report-corrupt-ciphertext.eml'])(
    '%s: the case is flagged, the mail quarantined, staff alerted, and the sender told only that it arrived',
    async (name) => {
      const { raw, messageId } = fixture(name);
      await deliver(stack, raw);
      const c = await caseOf(messageId);
      expect(JSON.parse(c.flags)).toContain('undecryptable');
      await eventually(
        async () => ((await inSecurityFolder(stack, 'Quarantine', messageId)) ? true : undefined),
        {
          what: 'quarantined',
        },
      );
      const ack = await ackFor('reporter1', messageId);
      const text = (await simpleParser(ack)).text ?? '';
      expect(text).toContain('arrived on');
      expect(ack.toString()).not.toContain('BEGIN PGP MESSAGE');
      expect(text).not.toMatch(/decrypt|no-matching-key|corrupt/i);
      const alert = await eventually(
        async () => (await mailById(stack, 'carol', notificationId(c.id, 'carol@psirt.test')))[0],
        {
          timeoutMs: 20_000,
          what: 'staff alert',
        },
      );
      expect(decryptAs('carol', alert).text).toContain('undecryptable');
    },
  );

  it.each(['auto-reply-out-of-office.eml', 'list-mail.eml', 'bounce-dsn.eml'])(
    '%s gets no acknowledgment',
    async (name) => {
      const { raw, messageId } = fixture(name);
      await deliver(stack, raw);
      await eventually(
        () =>
          query<{ state: string }>(
            "SELECT state FROM messages WHERE message_id = ? AND state = 'applied'",
            messageId,
          )[0],
        { timeoutMs: 20_000, what: 'applied' },
      );
      expect(query('SELECT id FROM outbox WHERE in_reply_to = ?', messageId)).toEqual([]);
      expect(
        query('SELECT case_id FROM messages WHERE message_id = ? AND case_id IS NOT NULL', messageId),
      ).toEqual([]);
    },
  );

  it('links a bounce to the acknowledgment it is about', async () => {
    const { raw, messageId } = fixture('report-plain.eml');
    await deliver(stack, raw);
    const c = await caseOf(messageId);
    const ackId = await eventually(
      () =>
        query<{ message_id: string }>(
          "SELECT message_id FROM outbox WHERE case_id = ? AND kind = 'acknowledgment'",
          c.id,
        )[0],
    );
    const bounce = fixture('bounce-dsn.eml');
    const text = bounce.raw.toString('latin1').replaceAll('case-1.ack@psirt.test', ackId.message_id);
    await deliver(stack, Buffer.from(text, 'latin1'), '');
    await eventually(
      () => query("SELECT id FROM events WHERE case_id = ? AND type = 'outbox.bounced'", c.id)[0],
      {
        timeoutMs: 20_000,
        what: 'bounce event',
      },
    );
  });

  it('joins a follow-up threaded only by References to its case', async () => {
    const first = fixture('report-plain.eml');
    await deliver(stack, first.raw);
    const c = await caseOf(first.messageId);
    const ackId = (await simpleParser(await ackFor('reporter1', first.messageId))).messageId ?? '';
    const follow = fixture('report-plain.eml', { subject: 'more details, no tag' });
    const text = follow.raw.toString('latin1').replace(/^Subject:/im, `References: ${ackId}\r\nSubject:`);
    await deliver(stack, Buffer.from(text, 'latin1'));
    expect((await caseOf(follow.messageId)).id).toBe(c.id);
    expect(query("SELECT id FROM outbox WHERE case_id = ? AND kind = 'acknowledgment'", c.id)).toHaveLength(
      1,
    );
  });

  it("opens a new, linked case when a stranger's mail carries an existing tag", async () => {
    const first = fixture('report-plain.eml');
    await deliver(stack, first.raw);
    const c = await caseOf(first.messageId);
    const stranger = fixture('report-plain.eml', { subject: `Re: [${c.id}] let me in` });
    const text = stranger.raw.toString('latin1').replace(/^From:.*$/im, 'From: Mallory <mallory@psirt.test>');
    await deliver(stack, Buffer.from(text, 'latin1'), 'mallory@psirt.test');
    const other = await caseOf(stranger.messageId);
    expect(other.id).not.toBe(c.id);
    expect(query('SELECT kind FROM case_links WHERE case_id = ? AND other_id = ?', other.id, c.id)).toEqual([
      { kind: 'quoted-tag' },
    ]);
  });

  it('makes one case when the same Message-ID is delivered twice', async () => {
    const { raw, messageId } = fixture('report-plain.eml');
    await deliver(stack, raw);
    await deliver(stack, raw);
    await caseOf(messageId);
    await eventually(
      () =>
        query("SELECT id FROM messages WHERE message_id = ? AND state = 'applied'", messageId).length === 2
          ? true
          : undefined,
      { timeoutMs: 20_000, what: 'both copies applied' },
    );
    expect(query('SELECT DISTINCT case_id FROM messages WHERE message_id = ?', messageId)).toHaveLength(1);
    expect(
      query("SELECT o.id FROM outbox o WHERE o.in_reply_to = ? AND o.kind = 'acknowledgment'", messageId),
    ).toHaveLength(1);
  });

  it('a subject with CR/LF, NUL and 10,000 characters cannot inject headers into our mail', async () => {
    const { raw, messageId } = fixture('report-header-edge-cases.eml');
    const long = `=?utf-8?b?${Buffer.from(`Bug\r\nBcc: victim@psirt.test\r\n\u0000${'A'.repeat(10_000)}`).toString('base64')}?=`;
    const text = raw
      .toString('latin1')
      .replace(/^Subject:.*(\r?\n[ \t].*)*$/im, `Subject: ${long}`)
      .replace(/^Return-Path:.*\r?\n/im, '');
    await deliver(stack, Buffer.from(text, 'latin1'));
    await caseOf(messageId);
    const ack = await ackFor('reporter1', messageId);
    const parsed = await simpleParser(ack);
    expect(parsed.headers.has('bcc')).toBe(false);
    expect(parsed.subject?.length).toBeLessThanOrEqual(230);
    expect(parsed.subject).not.toContain('\r');
    expect(parsed.subject).not.toContain('\n');
    expect(parsed.subject).not.toContain('\u0000');
  });

  it('psirt cases show prints the timeline, messages and outbox of a case', async () => {
    const { raw, messageId } = fixture('report-plain.eml');
    await deliver(stack, raw);
    const c = await caseOf(messageId);
    const r = await runCli(['cases', 'show', c.id], service.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('case.opened');
    expect(r.stdout).toContain(`<${messageId}>`);
    const list = await runCli(['cases', 'list', '--json'], service.env);
    expect((JSON.parse(list.stdout) as { id: string }[]).map((x) => x.id)).toContain(c.id);
  });
});
