import { workerStack } from '../support/worker-stack.js';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/7-cases/db.js';
import { eventually } from '../support/eventually.js';
import { openMailbox } from '../support/mailbox.js';
import { deliver, drainSecurityInbox, fixture, inSecurityFolder, startService } from '../support/service.js';
import { migratedDb, tempDbPath } from '../support/db.js';
import { systemClock } from '../../src/core/clock.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

const stack = workerStack();

function rows<T>(dbPath: string, sql: string, ...params: unknown[]): T[] {
  const db = openDatabase(dbPath, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

const applied = (dbPath: string, messageId: string) => () =>
  rows<{ case_id: string | null; filed_to: string | null }>(
    dbPath,
    "SELECT case_id, filed_to FROM messages WHERE message_id = ? AND state = 'applied' AND filed_to IS NOT NULL",
    messageId,
  )[0];

describe('the IMAP intake against the real Dovecot', () => {
  it('reconnects after the connection is cut and picks up mail that arrived meanwhile', async () => {
    await drainSecurityInbox(stack);
    const proxy = await startTcpProxy(stack.host, stack.imapPort);
    const service = await startService(stack, { PSIRT_IMAP__PORT: String(proxy.port) });
    try {
      const first = fixture('report-plain.eml');
      await deliver(stack, first.raw);
      await eventually(applied(service.dbPath, first.messageId), { timeoutMs: 20_000, what: 'first report' });
      expect(proxy.cut()).toBeGreaterThan(0); // the link dies, as in a network cut or a server restart
      const second = fixture('report-plain.eml');
      await deliver(stack, second.raw);
      await eventually(applied(service.dbPath, second.messageId), {
        timeoutMs: 30_000,
        what: 'report after the reconnect',
      });
      expect(service.out.text.split('"intake.connected"').length - 1).toBeGreaterThanOrEqual(2);
    } finally {
      expect(await service.stop()).toBe(0);
      await proxy.close();
    }
  }, 90_000);

  it('re-scans after a UIDVALIDITY change without opening a second case for mail it already has', async () => {
    const folder = `t-uv-${randomUUID().slice(0, 8)}`;
    const client = await openMailbox(stack, 'security');
    const { raw, messageId } = fixture('report-plain.eml');
    await client.mailboxCreate(folder);
    await client.append(folder, raw);
    const dbPath = tempDbPath();
    const service = await startService(stack, { PSIRT_IMAP__MAILBOX: folder }, dbPath);
    try {
      await eventually(applied(dbPath, messageId), { timeoutMs: 20_000, what: 'the report' });
      // Recreate the folder (a new UIDVALIDITY) and put the same mail back, as a restore would.
      await client.mailboxDelete(folder);
      await client.mailboxCreate(folder);
      await client.append(folder, raw);
      await eventually(
        async () => {
          const moved =
            rows(dbPath, 'SELECT 1 FROM intake_checkpoints WHERE mailbox = ? AND last_uid = 1', folder)
              .length > 0;
          // A fresh session each time: the test's own session saw the folder deleted under it.
          const probe = await openMailbox(stack, 'security');
          const status = await probe.status(folder, { messages: true }).finally(() => probe.logout());
          const left = status === false ? -1 : status.messages;
          return moved && left === 0 ? true : undefined;
        },
        { timeoutMs: 30_000, what: 'the re-seen mail filed away' },
      );
      expect(rows(dbPath, 'SELECT id FROM messages')).toHaveLength(1);
      expect(rows(dbPath, 'SELECT id FROM cases')).toHaveLength(1);
      expect(rows(dbPath, "SELECT id FROM outbox WHERE kind = 'acknowledgment'")).toHaveLength(1);
    } finally {
      expect(await service.stop()).toBe(0);
      await client.mailboxDelete(folder).catch(() => undefined);
      await client.logout();
    }
  }, 90_000);

  it('keeps mail over imap.max_message_bytes raw on disk, flags and quarantines its case, and still answers', async () => {
    await drainSecurityInbox(stack);
    const service = await startService(stack, { PSIRT_IMAP__MAX_MESSAGE_BYTES: '4096' });
    try {
      const { raw, messageId } = fixture('report-plain.eml');
      const big = Buffer.concat([raw, Buffer.from(`\r\n${'x'.repeat(70)}\r\n`.repeat(200))]);
      await deliver(stack, big);
      const m = await eventually(applied(service.dbPath, messageId), {
        timeoutMs: 20_000,
        what: 'oversize report',
      });
      expect(m.filed_to).toBe('quarantine');
      expect(rows(service.dbPath, 'SELECT flags FROM cases WHERE id = ?', m.case_id)).toEqual([
        { flags: '["oversize"]' },
      ]);
      const stored = rows<{ raw: Buffer | null; raw_path: string }>(
        service.dbPath,
        'SELECT raw, raw_path FROM messages WHERE message_id = ?',
        messageId,
      )[0];
      expect(stored?.raw).toBeNull();
      expect(existsSync(stored?.raw_path ?? '')).toBe(true);
      await eventually(
        () =>
          rows(
            service.dbPath,
            "SELECT 1 FROM outbox WHERE case_id = ? AND kind = 'acknowledgment' AND state = 'sent'",
            m.case_id,
          )[0],
        { timeoutMs: 20_000, what: 'the acknowledgment' },
      );
    } finally {
      expect(await service.stop()).toBe(0);
    }
  }, 60_000);

  it('a message whose case cannot be written stays in the mailbox and does not stall the others', async () => {
    await drainSecurityInbox(stack);
    const dbPath = tempDbPath();
    const db = migratedDb(systemClock, dbPath);
    // A stand-in for any failure while applying (disk full, a bug): this mail cannot be applied.
    // (Keyed on its Message-ID: no subject is stored in clear since #13.)
    db.exec(
      "CREATE TRIGGER poison BEFORE UPDATE OF state ON messages WHEN NEW.state = 'applied' AND NEW.message_id LIKE 'poison-%' BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
    );
    db.close();
    const service = await startService(stack, {}, dbPath);
    try {
      const bad = fixture('report-plain.eml', { messageId: `poison-${randomUUID()}@e2e.psirt.test` });
      const good = fixture('report-plain.eml');
      await deliver(stack, bad.raw);
      await deliver(stack, good.raw);
      await eventually(applied(dbPath, good.messageId), { timeoutMs: 20_000, what: 'the good report' });
      expect(
        rows(dbPath, 'SELECT state, filed_to FROM messages WHERE message_id = ?', bad.messageId),
      ).toEqual([{ state: 'received', filed_to: null }]);
      expect(await inSecurityFolder(stack, 'INBOX', bad.messageId)).toBe(true);
      // The failure is that message's own (#10): recorded, retried next round up to intake.max_attempts.
      expect(service.out.text).toContain('"intake.attempt-failed"');
      expect(rows(dbPath, 'SELECT last_error FROM messages WHERE message_id = ?', bad.messageId)).toEqual([
        { last_error: expect.stringContaining('poisoned') as unknown },
      ]);
    } finally {
      expect(await service.stop()).toBe(0);
    }
  }, 60_000);
});
