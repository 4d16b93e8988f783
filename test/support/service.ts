import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { SearchObject } from 'imapflow';
import nodemailer from 'nodemailer';
import { openDatabase } from '../../src/7-cases/db.js';
import { spawnCli } from './cli.js';
import { tempDbPath } from './db.js';
import { eventually } from './eventually.js';
import { openMailbox } from './mailbox.js';
import { ALICE, staffMail, type StaffMailOptions } from './pgp-mail.js';
import { address, REPO, stackEnv, type StackInfo } from './stack.js';

export const MAIL_FIXTURES = join(REPO, 'test', 'fixtures', 'mail');

export interface RunningService {
  child: ChildProcess;
  out: { text: string };
  env: Record<string, string>;
  dbPath: string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the built `psirt start` on the stack with a fresh database; resolves once it runs. */
export async function startService(
  stack: StackInfo,
  extra: Record<string, string> = {},
  dbPath = tempDbPath(),
  roles: string[] = [],
): Promise<RunningService> {
  const env = stackEnv(stack, {
    PSIRT_DATABASE__PATH: dbPath,
    PSIRT_LOG__LEVEL: 'info',
    PSIRT_ACKNOWLEDGMENT__MAX_PER_SENDER_PER_HOUR: '10000',
    PSIRT_ACKNOWLEDGMENT__MAX_FIRST_CONTACT_PER_HOUR: '10000',
    ...extra,
  });
  const { child, out } = spawnCli(roles.length === 0 ? ['start'] : ['start', '--role', ...roles], env);
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    await eventually(() => (out.text.includes('"service.started"') ? true : undefined), {
      timeoutMs: 20_000,
      what: 'service start',
    });
  } catch (err) {
    // A service that did not say it started must not live on and read the stack's mailbox
    // under the next test (a drill left two such orphans eating its mail).
    child.kill('SIGKILL');
    throw err;
  }
  return {
    child,
    out,
    env,
    dbPath,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * A fixture as sent by its author, with a fresh Message-ID so runs never collide. Returns the raw
 * bytes and the id (without <>).
 */
export function fixture(
  name: string,
  overrides: { messageId?: string; subject?: string } = {},
): { raw: Buffer; messageId: string } {
  let text = readFileSync(join(MAIL_FIXTURES, name), 'latin1');
  const messageId = overrides.messageId ?? `${randomUUID()}@e2e.psirt.test`;
  text = /^Message-ID:.*$/im.test(text)
    ? text.replace(/^Message-ID:.*$/im, `Message-ID: <${messageId}>`)
    : `Message-ID: <${messageId}>\r\n${text}`;
  if (overrides.subject !== undefined) text = text.replace(/^Subject:.*$/im, `Subject: ${overrides.subject}`);
  return { raw: Buffer.from(text, 'latin1'), messageId };
}

/** Delivers raw bytes through the stack's Postfix to security@ (as a researcher's MTA would). */
export async function deliver(
  stack: StackInfo,
  raw: Buffer,
  from = address(stack, 'reporter1'),
): Promise<void> {
  await submitMail(stack, { envelope: { from, to: [address(stack, 'security')] }, raw });
}

export type MailToSubmit = Parameters<ReturnType<typeof nodemailer.createTransport>['sendMail']>[0];

/** Submits one mail to the stack's Postfix, as a mail client would (also scripts/send.ts). */
export async function submitMail(stack: StackInfo, mail: MailToSubmit): Promise<void> {
  const transport = nodemailer.createTransport({
    host: stack.host,
    port: stack.smtpPort,
    secure: false,
    ignoreTLS: true,
  });
  try {
    await transport.sendMail(mail);
  } finally {
    transport.close();
  }
}

/** Moves whatever is left in security@'s INBOX aside, so a fresh database starts from an empty box. */
export async function drainSecurityInbox(stack: StackInfo): Promise<void> {
  const client = await openMailbox(stack, 'security');
  try {
    const folder = 'e2e-leftovers';
    if (!(await client.list()).some((m) => m.path === folder)) await client.mailboxCreate(folder);
    const lock = await client.getMailboxLock('INBOX');
    try {
      if (client.mailbox !== false && client.mailbox.exists > 0) await client.messageMove('1:*', folder);
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}

/** Waits until the intake applied the mail with this Message-ID; its row id and case id. */
export function whenApplied(
  dbPath: string,
  messageId: string,
  what = `mail ${messageId} applied`,
): Promise<{ id: number; case_id: string | null }> {
  return eventually(
    () =>
      queryDb<{ id: number; case_id: string | null }>(
        dbPath,
        "SELECT id, case_id FROM messages WHERE message_id = ? AND state = 'applied'",
        messageId,
      )[0],
    { timeoutMs: 20_000, what },
  );
}

/** Waits until the intake applied the mail with this Message-ID; its case id. */
export async function appliedCase(dbPath: string, messageId: string, what = 'the case'): Promise<string> {
  const row = await whenApplied(dbPath, messageId, what);
  if (row.case_id === null) throw new Error(`${what}: ${messageId} was applied without a case`);
  return row.case_id;
}

/**
 * Builds a staff mail (signed by alice unless told otherwise), delivers it through Postfix from
 * the address in its From, and waits until the intake applied it.
 */
export async function sendStaffMail(
  stack: StackInfo,
  dbPath: string,
  o: Partial<StaffMailOptions> & { subject: string },
  what?: string,
): Promise<{ raw: Buffer; messageId: string }> {
  const from = o.from ?? ALICE.from;
  const mail = staffMail({ signer: ALICE.signer, body: 'ok', ...o, from });
  await deliver(stack, mail.raw, /<(.+)>/.exec(from)?.[1] ?? from);
  await whenApplied(dbPath, mail.messageId, what);
  return mail;
}

/** Rows from the service's SQLite file, opened read-only for one query. */
export function queryDb<T>(dbPath: string, sql: string, ...params: unknown[]): T[] {
  const db = openDatabase(dbPath, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** Raw messages in `user`'s `folder` matching an IMAP SEARCH. */
async function searchMail(
  stack: StackInfo,
  user: string,
  query: SearchObject,
  folder: string,
): Promise<Buffer[]> {
  const client = await openMailbox(stack, user);
  try {
    const lock = await client.getMailboxLock(folder);
    try {
      const uids = await client.search(query, { uid: true });
      if (!Array.isArray(uids) || uids.length === 0) return [];
      const out: Buffer[] = [];
      for await (const m of client.fetch(uids.join(','), { source: true }, { uid: true }))
        if (m.source) out.push(m.source);
      return out;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}

/** Raw messages in `user`'s `folder` whose In-Reply-To is `<id>`. */
export function repliesTo(stack: StackInfo, user: string, id: string, folder = 'INBOX'): Promise<Buffer[]> {
  return searchMail(stack, user, { header: { 'in-reply-to': `<${id}>` } }, folder);
}

/** Raw messages in `user`'s `folder` with this Message-ID (without <>). */
export function mailById(stack: StackInfo, user: string, id: string, folder = 'INBOX'): Promise<Buffer[]> {
  return searchMail(stack, user, { header: { 'message-id': `<${id}>` } }, folder);
}

/** Raw messages in `user`'s `folder` whose subject contains `text`. */
export function mailWithSubject(
  stack: StackInfo,
  user: string,
  text: string,
  folder = 'INBOX',
): Promise<Buffer[]> {
  return searchMail(stack, user, { subject: text }, folder);
}

/** Whether a message with this Message-ID is in security@'s `folder`. */
export async function inSecurityFolder(
  stack: StackInfo,
  folder: string,
  messageId: string,
): Promise<boolean> {
  const client = await openMailbox(stack, 'security');
  try {
    const lock = await client.getMailboxLock(folder);
    try {
      const uids = await client.search({ header: { 'message-id': messageId } }, { uid: true });
      return Array.isArray(uids) && uids.length > 0;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}
