import { workerStack } from '../support/worker-stack.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPOOL_OVER_BYTES } from '../../src/1-intake/imap-poller.js';
import { runCli } from '../support/cli.js';
import { eventually } from '../support/eventually.js';
import { decryptEntity, encryptedMail } from '../support/pgp-mail.js';
import {
  appliedCase,
  deliver,
  drainSecurityInbox,
  mailById,
  queryDb,
  startService,
  type RunningService,
} from '../support/service.js';
import { address } from '../support/stack.js';

/**
 * Issue #13 acceptance, "nothing readable at rest", on the real stack: reports in clear, encrypted
 * (its real subject also in the outer header, as a client without header protection sends it),
 * large enough to be spooled, and over `imap.max_message_bytes` (streamed to the spool, never
 * decoded), each with unique canaries in subject, body and attachment. Once their
 * acknowledgments and staff notifications went out, no canary is in the SQLite file, its WAL or
 * shared memory, or any file of spool/ — while the service runs (WAL not checkpointed) and after
 * it stopped. The staff notifications still show the decrypted reports, and `psirt cases show`
 * still works.
 */
const stack = workerStack();
const MAX_MESSAGE_BYTES = 3 * 1024 * 1024;
const canary = (what: string): string => `CANARY${what}${randomBytes(6).toString('hex').toUpperCase()}`;
const C = {
  clearSubject: canary('CS'),
  clearBody: canary('CB'),
  clearAttachment: canary('CA'),
  encSubject: canary('ES'),
  encBody: canary('EB'),
  encAttachment: canary('EA'),
  spoolSubject: canary('SS'),
  spoolBody: canary('SB'),
  spoolAttachment: canary('SA'),
  hugeSubject: canary('HS'),
  hugeBody: canary('HB'),
  hugeAttachment: canary('HA'),
};
let service: RunningService;
const cases: Record<'clear' | 'enc' | 'spool' | 'huge', string> = { clear: '', enc: '', spool: '', huge: '' };

const crlf = (s: string): string => s.replace(/\r?\n/g, '\r\n');

/** A multipart/mixed report in clear: text body, a text attachment, optional base64 filler. */
function clearReport(o: {
  from: string;
  subject: string;
  body: string;
  attachment: string;
  fillerBytes?: number;
}): { raw: Buffer; messageId: string } {
  const messageId = `${randomUUID()}@e2e.psirt.test`;
  const b = `psirt-at-rest-${randomUUID()}`;
  const filler =
    o.fillerBytes === undefined
      ? []
      : [
          `--${b}`,
          'Content-Type: application/octet-stream; name="capture.bin"',
          'Content-Disposition: attachment; filename="capture.bin"',
          'Content-Transfer-Encoding: base64',
          '',
          ...(randomBytes(o.fillerBytes)
            .toString('base64')
            .match(/.{1,76}/g) ?? []),
        ];
  const text = crlf(
    [
      `From: ${o.from}`,
      'To: security@psirt.test',
      `Subject: ${o.subject}`,
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <${messageId}>`,
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${b}"`,
      '',
      `--${b}`,
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      o.body,
      `--${b}`,
      'Content-Type: text/plain; charset=utf-8; name="poc.txt"',
      'Content-Disposition: attachment; filename="poc.txt"',
      'Content-Transfer-Encoding: 8bit',
      '',
      o.attachment,
      ...filler,
      `--${b}--`,
      '',
    ].join('\n'),
  );
  return { raw: Buffer.from(text), messageId };
}

/** Every file the data folder holds at rest: the SQLite file, -wal, -shm, and all of spool/. */
function filesAtRest(dbPath: string): string[] {
  const files = [dbPath, `${dbPath}-wal`, `${dbPath}-shm`].filter((f) => existsSync(f));
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(join(dirname(dbPath), 'spool'));
  return files;
}

/** `grep -a` for each canary over the bytes of every file at rest: where each one is found. */
function canariesAtRest(dbPath: string): string[] {
  const found: string[] = [];
  for (const file of filesAtRest(dbPath)) {
    const bytes = readFileSync(file);
    for (const [name, value] of Object.entries(C))
      if (bytes.includes(value)) found.push(`${name} in ${file.slice(dirname(dbPath).length + 1)}`);
  }
  return found;
}

const sentRows = () =>
  queryDb<{ case_id: string; kind: string; state: string; recipients: string; message_id: string }>(
    service.dbPath,
    `SELECT case_id, kind, state, recipients, message_id FROM outbox WHERE kind IN ('acknowledgment', 'staff-notification')`,
  );

beforeAll(async () => {
  await drainSecurityInbox(stack);
  service = await startService(stack, { PSIRT_IMAP__MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) });
  const clear = clearReport({
    from: `Reporter Two <${address(stack, 'reporter2')}>`,
    subject: `${C.clearSubject} XSS in the admin console`,
    body: `Steps: open /admin and paste ${C.clearBody} into the search box.`,
    attachment: `proof of concept ${C.clearAttachment}`,
  });
  // A client without header protection: the real subject is in the outer header too.
  const enc = encryptedMail({
    from: 'Reporter One <reporter1@psirt.test>',
    subject: `${C.encSubject} pre-auth RCE in the updater`,
    outerSubject: `${C.encSubject} pre-auth RCE in the updater`,
    body: `The updater runs what it fetches: ${C.encBody}`,
    signer: 'reporter1',
    attachKey: true,
    attachment: { name: 'poc.txt', text: `proof of concept ${C.encAttachment}` },
  });
  const spooled = clearReport({
    from: `Reporter Three <${address(stack, 'reporter3')}>`,
    subject: `${C.spoolSubject} firmware dump`,
    body: `The dump shows ${C.spoolBody} in the bootloader.`,
    attachment: `key material ${C.spoolAttachment}`,
    fillerBytes: SPOOL_OVER_BYTES,
  });
  const huge = clearReport({
    from: `Reporter Three <${address(stack, 'reporter3')}>`,
    subject: `${C.hugeSubject} full disk image`,
    body: `Image attached, see ${C.hugeBody}.`,
    attachment: `offsets ${C.hugeAttachment}`,
    fillerBytes: MAX_MESSAGE_BYTES,
  });
  expect(spooled.raw.length).toBeGreaterThan(SPOOL_OVER_BYTES);
  expect(spooled.raw.length).toBeLessThan(MAX_MESSAGE_BYTES);
  expect(huge.raw.length).toBeGreaterThan(MAX_MESSAGE_BYTES);
  await deliver(stack, clear.raw, address(stack, 'reporter2'));
  await deliver(stack, enc.raw, address(stack, 'reporter1'));
  await deliver(stack, spooled.raw, address(stack, 'reporter3'));
  await deliver(stack, huge.raw, address(stack, 'reporter3'));
  cases.clear = await appliedCase(service.dbPath, clear.messageId, 'the clear report');
  cases.enc = await appliedCase(service.dbPath, enc.messageId, 'the encrypted report');
  cases.spool = await appliedCase(service.dbPath, spooled.messageId, 'the spooled report');
  cases.huge = await appliedCase(service.dbPath, huge.messageId, 'the oversize report');
  // Every acknowledgment and staff notification of the four cases has gone out.
  await eventually(
    () => {
      const rows = sentRows().filter((r) => Object.values(cases).includes(r.case_id));
      // #16: one notification per case to the three staff (all have keys).
      return rows.filter((r) => r.kind === 'staff-notification').length === 4 &&
        rows.every((r) => r.state === 'sent')
        ? rows
        : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'acknowledgments and staff notifications sent' },
  );
}, 120_000);

afterAll(async () => {
  if (service.child.exitCode === null) await service.stop();
});

describe('nothing readable at rest (issue #13)', () => {
  it('no canary of any report is in the database, its WAL and shared memory, or the spool, while the service runs', () => {
    const files = filesAtRest(service.dbPath).map((f) => f.slice(dirname(service.dbPath).length + 1));
    expect(files).toContain('psirt.db-wal');
    expect(files.filter((f) => f.startsWith('spool/')).length).toBeGreaterThanOrEqual(2);
    expect(canariesAtRest(service.dbPath)).toEqual([]);
  });

  it('the staff notification still shows each decrypted report: its subject and text', async () => {
    const want: Record<string, string[]> = {
      [cases.clear]: [C.clearSubject, C.clearBody],
      [cases.enc]: [C.encSubject, C.encBody],
      [cases.spool]: [C.spoolSubject, C.spoolBody],
    };
    for (const [caseId, shown] of Object.entries(want)) {
      const row = sentRows().find(
        (r) => r.case_id === caseId && r.kind === 'staff-notification' && r.recipients.includes('alice@'),
      )!;
      const raw = await eventually(async () => (await mailById(stack, 'alice', row.message_id))[0], {
        timeoutMs: 20_000,
        what: `the notification of ${caseId} in alice's mailbox`,
      });
      const { entity, status } = decryptEntity('alice', raw);
      expect(status).toContain('DECRYPTION_OKAY');
      const inner = await simpleParser(entity);
      const seen = `${inner.subject ?? ''}\n${inner.text ?? ''}`;
      for (const c of shown) expect(seen, `${caseId} notification`).toContain(c);
    }
  });

  it('psirt cases show still works on a sealed case', async () => {
    const r = await runCli(['cases', 'show', cases.enc], service.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(cases.enc);
    // With the team key's passphrase the CLI opens the sealed subject (issue #13: "opened only
    // by … the CLI with the passphrase"); without it, the subject stays sealed.
    expect(r.stdout).toContain(C.encSubject);
    expect(r.stdout).not.toContain(C.encBody);
    const locked = await runCli(['cases', 'show', cases.enc], {
      ...service.env,
      PSIRT_PGP__KEYS__0__PASSPHRASE: '',
    });
    expect(locked.code).toBe(0);
    expect(locked.stderr).toMatch(/^psirt: subjects shown as \(sealed\): pgp\.keys\[0\]: /);
    expect(locked.stdout).toContain(cases.enc);
    expect(locked.stdout).toContain('(sealed)');
    expect(locked.stdout).not.toContain(C.encSubject);
  });

  it('no canary is at rest after the service stopped (WAL checkpointed into the file)', async () => {
    expect(await service.stop()).toBe(0);
    expect(canariesAtRest(service.dbPath)).toEqual([]);
    // Nor in the service's log.
    for (const value of Object.values(C)) expect(service.out.text).not.toContain(value);
  });
});
