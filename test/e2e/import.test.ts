import { workerStack } from '../support/worker-stack.js';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImapFlow } from 'imapflow';
import { openDatabase } from '../../src/7-cases/db.js';
import { runCli, spawnCli } from '../support/cli.js';
import { tempDbPath } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { openMailbox } from '../support/mailbox.js';
import { startService } from '../support/service.js';
import { address, stackEnv } from '../support/stack.js';

/** Issue #15: adopting a mailbox that already holds years of reports. */

const stack = workerStack();
const REPORTS = 2000;
const REPLIES = 200;
const MBOX_REPORTS = 450;
const MBOX_REPLIES = 50;
const run = randomUUID().slice(0, 8);
const folder = `t-import-${run}`;
const env = (dbPath: string): Record<string, string> =>
  stackEnv(stack, {
    PSIRT_DATABASE__PATH: dbPath,
    PSIRT_IMAP__MAILBOX: folder,
    PSIRT_IMAP__PROCESSED_FOLDER: `${folder}-done`,
    PSIRT_IMAP__QUARANTINE_FOLDER: `${folder}-quarantine`,
    PSIRT_INTAKE__ADOPT_OLDER_THAN__AMOUNT: '7',
    PSIRT_LOG__LEVEL: 'info',
  });

const reporters = ['reporter1', 'reporter2', 'reporter3'];
const idOf = (i: number, tag: string): string => `r${i}-${tag}@imp-${run}.test`;
const dateOf = (i: number): Date => new Date(Date.UTC(2024, 0, 1) + i * 3_600_000);

function report(i: number, tag: string): Buffer {
  const from = address(stack, reporters[i % reporters.length] ?? 'reporter1');
  return Buffer.from(
    [
      `From: Researcher ${i} <${from}>`,
      `To: ${address(stack, 'security')}`,
      `Subject: Old report ${i} ${tag}`,
      `Date: ${dateOf(i).toUTCString()}`,
      `Message-ID: <${idOf(i, tag)}>`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Report number ${i}: the parser overflows.`,
      'From the first line on, it goes wrong.',
      '',
    ].join('\r\n'),
  );
}

function reply(i: number, tag: string): Buffer {
  const from = address(stack, reporters[i % reporters.length] ?? 'reporter1');
  return Buffer.from(
    [
      `From: Researcher ${i} <${from}>`,
      `To: ${address(stack, 'security')}`,
      `Subject: Re: Old report ${i} ${tag}`,
      `Date: ${new Date(dateOf(i).getTime() + 1_800_000).toUTCString()}`,
      `Message-ID: <reply-${idOf(i, tag)}>`,
      `In-Reply-To: <${idOf(i, tag)}>`,
      `References: <${idOf(i, tag)}>`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      `More detail on report ${i}.`,
      '',
    ].join('\r\n'),
  );
}

function count(dbPath: string, sql: string): number {
  const db = openDatabase(dbPath, { readonly: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const casesIn = (dbPath: string) => (): number | undefined => {
  if (!existsSync(dbPath)) return undefined;
  try {
    return count(dbPath, 'SELECT count(*) AS n FROM cases');
  } catch {
    return undefined; // not migrated yet
  }
};

/** The checks every adoption must pass: exact counts, no duplicate, original dates, no mail. */
function expectHistory(dbPath: string, reports: number, replies: number): void {
  expect(count(dbPath, 'SELECT count(*) AS n FROM cases')).toBe(reports);
  expect(count(dbPath, 'SELECT count(*) AS n FROM cases WHERE historical = 1')).toBe(reports);
  expect(count(dbPath, 'SELECT count(*) AS n FROM messages')).toBe(reports + replies);
  expect(count(dbPath, 'SELECT count(DISTINCT message_id) AS n FROM messages')).toBe(reports + replies);
  // Replies threaded into their report's case.
  expect(
    count(
      dbPath,
      "SELECT count(*) AS n FROM messages WHERE message_id LIKE 'reply-%' AND case_id IS NOT NULL",
    ),
  ).toBe(replies);
  expect(count(dbPath, 'SELECT count(DISTINCT case_id) AS n FROM messages')).toBe(reports);
  // Original dates: every case opened in 2024, as its mail was written.
  expect(count(dbPath, "SELECT count(*) AS n FROM cases WHERE created_at LIKE '2024-%'")).toBe(reports);
  // Deadlines derived, historical; nothing was or will be escalated.
  expect(count(dbPath, 'SELECT count(*) AS n FROM deadlines WHERE historical = 0')).toBe(0);
  expect(count(dbPath, "SELECT count(*) AS n FROM escalations WHERE state = 'pending'")).toBe(0);
  // Nothing queued for anyone but the one summary to staff.
  expect(count(dbPath, "SELECT count(*) AS n FROM outbox WHERE kind <> 'import-summary'")).toBe(0);
  expect(count(dbPath, "SELECT count(*) AS n FROM outbox WHERE kind = 'import-summary'")).toBe(1);
  expect(count(dbPath, "SELECT count(*) AS n FROM outbox WHERE state = 'sent'")).toBe(0);
  // The event log records what happened: each case imported, no mail queued or sent (trial finding).
  expect(count(dbPath, "SELECT count(*) AS n FROM events WHERE type = 'case.imported'")).toBe(reports);
  expect(
    count(
      dbPath,
      `SELECT count(*) AS n FROM events WHERE type IN ('acknowledgment.queued', 'acknowledgment.held',
         'staff.notified', 'advisory.customers-notified', 'advisory.draft-sent', 'escalation.sent', 'outbox.sent')`,
    ),
  ).toBe(0);
}

/** Runs `psirt import`, SIGKILLs it once `killAt` cases exist, then runs it again to the end. */
async function importKilledHalfWay(dbPath: string, args: string[], killAt: number): Promise<string> {
  const first = spawnCli(['import', ...args], env(dbPath));
  const exited = new Promise<void>((resolve) => first.child.on('exit', () => resolve()));
  await eventually(
    () => {
      if (first.child.exitCode !== null) throw new Error(`import ended before the kill:\n${first.out.text}`);
      return (casesIn(dbPath)() ?? 0) >= killAt ? true : undefined;
    },
    {
      timeoutMs: 240_000,
      intervalMs: 100,
      what: `${killAt} cases before the kill`,
    },
  );
  first.child.kill('SIGKILL');
  await exited;
  const killedAt = casesIn(dbPath)() ?? 0;
  expect(killedAt).toBeGreaterThanOrEqual(killAt);
  const second = await runCli(['import', ...args], env(dbPath), 300_000);
  expect(second.stderr + second.stdout).toMatch(/skipped as already imported/);
  expect(second.code).toBe(0);
  return second.stdout + second.stderr;
}

async function messagesIn(client: ImapFlow, name: string): Promise<number> {
  const status = await client.status(name, { messages: true });
  return status === false ? 0 : (status.messages ?? 0);
}

/** Mail in the reporters' mailboxes that answers one of this run's messages. */
/** Mails in the reporters' INBOXes answering one of the old reports or replies tagged `tag`. */
async function answersToReporters(tag: 'imap' | 'mbox'): Promise<number> {
  let n = 0;
  for (const user of reporters) {
    const c = await openMailbox(stack, user);
    try {
      const lock = await c.getMailboxLock('INBOX');
      try {
        const found = await c.search({ header: { 'in-reply-to': `-${tag}@imp-${run}` } }, { uid: true });
        n += Array.isArray(found) ? found.length : 0;
      } finally {
        lock.release();
      }
    } finally {
      await c.logout();
    }
  }
  return n;
}

describe('psirt import: adopting a mailbox that holds years of reports', () => {
  let security: ImapFlow;
  beforeAll(async () => {
    security = await openMailbox(stack, 'security');
    for (const f of [folder, `${folder}-done`, `${folder}-quarantine`]) await security.mailboxCreate(f);
  });
  afterAll(async () => {
    for (const f of [folder, `${folder}-done`, `${folder}-quarantine`])
      await security.mailboxDelete(f).catch(() => undefined);
    await security.logout();
  });

  it(`refuses the first start, imports ${REPORTS} reports and ${REPLIES} replies after a kill -9 with no duplicate and no mail, then answers only new mail`, async () => {
    const t0 = Date.now();
    // The fast path: APPEND with the old date as INTERNALDATE, as a mailbox of years would hold.
    for (let i = 0; i < REPORTS; i++) {
      await security.append(folder, report(i, 'imap'), ['\\Seen'], dateOf(i));
      if (i < REPLIES) await security.append(folder, reply(i, 'imap'), ['\\Seen'], dateOf(i));
    }
    const appended = Date.now();
    const dbPath = tempDbPath();

    const refused = await runCli(['start'], env(dbPath), 60_000);
    expect(refused.code).not.toBe(0);
    const line = refused.stderr.trim().split('\n');
    expect(line).toHaveLength(1);
    expect(line[0]).toBe(
      `psirt: ${folder} holds ${REPORTS + REPLIES} message(s) older than 7 calendar days and no adoption is recorded: run \`psirt import\` to record them as history first (or \`psirt import --none\` to answer them as new)`,
    );

    const imported = Date.now();
    const out = await importKilledHalfWay(dbPath, [], REPORTS / 2);
    const importSeconds = (Date.now() - imported) / 1000;
    expect(out).toMatch(/import .*messages/); // progress lines (no TTY here)
    expectHistory(dbPath, REPORTS, REPLIES);
    expect(await messagesIn(security, folder)).toBe(0);
    expect(await messagesIn(security, `${folder}-done`)).toBe(REPORTS + REPLIES);
    expect(await answersToReporters('imap')).toBe(0);

    // Adopted: the start goes on, and only mail that arrives afterwards is answered.
    const service = await startService(stack, env(dbPath), dbPath);
    try {
      const fresh = Buffer.from(
        [
          `From: ${address(stack, 'reporter1')}`,
          `To: ${address(stack, 'security')}`,
          'Subject: A new report after the adoption',
          `Date: ${new Date().toUTCString()}`,
          `Message-ID: <new-${run}@imp-${run}.test>`,
          '',
          'Fresh.',
          '',
        ].join('\r\n'),
      );
      await security.append(folder, fresh);
      await eventually(
        () =>
          count(
            dbPath,
            "SELECT count(*) AS n FROM outbox WHERE kind = 'acknowledgment' AND state = 'sent'",
          ) === 1
            ? true
            : undefined,
        { timeoutMs: 30_000, what: 'the acknowledgment of the new report' },
      );
      expect(count(dbPath, "SELECT count(*) AS n FROM outbox WHERE kind = 'acknowledgment'")).toBe(1);
      expect(count(dbPath, 'SELECT count(*) AS n FROM cases WHERE historical = 0')).toBe(1);
    } finally {
      expect(await service.stop()).toBe(0);
    }
    process.stderr.write(
      `import e2e: append ${String((appended - t0) / 1000)} s, import (both runs) ${String(importSeconds)} s = ${((REPORTS + REPLIES) / importSeconds).toFixed(0)} msg/s\n`,
    );
  }, 600_000);

  it(`imports an mbox of ${MBOX_REPORTS + MBOX_REPLIES} messages the same way, after a kill -9`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psirt-mbox-'));
    const file = join(dir, 'security.mbox');
    const parts: string[] = [];
    for (let i = 0; i < MBOX_REPORTS; i++) {
      const quoted = report(i, 'mbox')
        .toString('utf8')
        .replace(/^From the first/m, '>From the first');
      parts.push(
        `From researcher@example.org ${dateOf(i).toUTCString().replace(',', '')}\n${quoted.replace(/\r\n/g, '\n')}\n`,
      );
      if (i < MBOX_REPLIES)
        parts.push(
          `From researcher@example.org Mon Jan  1 00:00:00 2024\n${reply(i, 'mbox').toString('utf8').replace(/\r\n/g, '\n')}\n`,
        );
    }
    writeFileSync(file, parts.join(''));
    const dbPath = tempDbPath();
    // Like every command but start, import says what to run on a missing database.
    const missing = await runCli(['import', '--mbox', file], env(dbPath));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no database at .*: run "psirt migrate"/);
    expect((await runCli(['migrate'], env(dbPath))).code).toBe(0);
    await importKilledHalfWay(dbPath, ['--mbox', file], MBOX_REPORTS / 2);
    expectHistory(dbPath, MBOX_REPORTS, MBOX_REPLIES);
    expect(await answersToReporters('mbox')).toBe(0);
  }, 300_000);

  it('imports a Maildir that gained a message between two runs: known by its bytes, not its place (#15 review)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psirt-maildir-'));
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(dir, sub));
    // Maildir names sort by delivery time; the late arrival sorts first.
    for (const i of [2, 3, 4])
      writeFileSync(join(dir, 'cur', `170000000${String(i)}.M1P1.host:2,S`), report(i, 'maildir'));
    const dbPath = tempDbPath();
    expect((await runCli(['migrate'], env(dbPath))).code).toBe(0);
    const first = await runCli(['import', '--maildir', dir], env(dbPath));
    expect(first.code).toBe(0);
    expect(count(dbPath, 'SELECT count(*) AS n FROM cases')).toBe(3);
    writeFileSync(join(dir, 'cur', '1700000001.M1P1.host:2,S'), report(1, 'maildir'));
    const second = await runCli(['import', '--maildir', dir], env(dbPath));
    expect(second.code).toBe(0);
    expect(second.stdout + second.stderr).toMatch(/1 case\(s\) created.*3 skipped as already imported/);
    expect(count(dbPath, 'SELECT count(*) AS n FROM cases')).toBe(4);
    expect(
      count(dbPath, `SELECT count(*) AS n FROM messages WHERE message_id = '${idOf(1, 'maildir')}'`),
    ).toBe(1);
  }, 120_000);

  it('an unreadable source records nothing; an interrupted import is named, and --none closes it (#15 trial)', async () => {
    const dbPath = tempDbPath();
    expect((await runCli(['migrate'], env(dbPath))).code).toBe(0);
    const gone = join(tmpdir(), `psirt-missing-${run}`, 'old.mbox');
    const missing = await runCli(['import', '--mbox', gone], env(dbPath));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`cannot read the mbox export ${gone}`);
    const notDir = join(mkdtempSync(join(tmpdir(), 'psirt-notdir-')), 'file');
    writeFileSync(notDir, 'x');
    const file = await runCli(['import', '--maildir', notDir], env(dbPath));
    expect(file.code).toBe(1);
    expect(file.stderr).toContain(`cannot read the maildir export ${notDir}`);
    expect(count(dbPath, 'SELECT count(*) AS n FROM adoptions')).toBe(0);

    // An import killed half way (its row left open): start names it and how to go on.
    const db = openDatabase(dbPath);
    db.prepare("INSERT INTO adoptions (kind, source, started_at) VALUES ('mbox', ?, ?)").run(
      gone,
      new Date().toISOString(),
    );
    db.close();
    const refused = await runCli(['start'], env(dbPath));
    expect(refused.code).toBe(2); // operator action, not a crash: systemd does not restart it
    expect(refused.stderr).toContain(
      `interrupted (mbox ${gone} (\`psirt import --mbox ${gone}\` finishes it))`,
    );
    expect(refused.stderr).toContain('psirt import --none');

    // --none closes it as abandoned, says so, and start then starts.
    const none = await runCli(['import', '--none'], env(dbPath));
    expect(none.code).toBe(0);
    expect(none.stdout).toContain(`closed the unfinished import(s) mbox ${gone} as abandoned`);
    expect(count(dbPath, 'SELECT count(*) AS n FROM adoptions WHERE finished_at IS NULL')).toBe(0);
    expect(count(dbPath, "SELECT count(*) AS n FROM events WHERE type = 'adoption.abandoned'")).toBe(1);
    const service = await startService(stack, env(dbPath), dbPath);
    expect(await service.stop()).toBe(0);
  }, 120_000);
});
