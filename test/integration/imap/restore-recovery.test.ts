import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { createImapClient } from '../../../src/1-intake/imap-client.js';
import { recoverAfterRestore, type MovedBack } from '../../../src/1-intake/restore-recovery.js';
import { loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/core/log.js';
import { scanRawHeaders } from '../../../src/core/raw-headers.js';
import { openMailbox } from '../../support/mailbox.js';
import { stackEnv } from '../../support/stack.js';

const stack = inject('stack');

const mail = (id: string, when: Date): Buffer =>
  Buffer.from(
    `Message-ID: <${id}>\r\nFrom: r@psirt.test\r\nTo: security@psirt.test\r\nDate: ${when.toUTCString()}\r\nSubject: report\r\n\r\nbody of ${id}\r\n`,
  );
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('recoverAfterRestore() against the stack Dovecot', () => {
  it('moves back to the INBOX only the mail filed since the backup that the database does not hold', async () => {
    // Folders of this test only: an INBOX, a processed and a quarantine folder.
    const tag = `rr-${randomUUID().slice(0, 8)}`;
    const folders = { mailbox: `${tag}-in`, processed: `${tag}-done`, quarantine: `${tag}-quar` };
    const cfg = loadConfig({
      env: stackEnv(stack, {
        PSIRT_IMAP__MAILBOX: folders.mailbox,
        PSIRT_IMAP__PROCESSED_FOLDER: folders.processed,
        PSIRT_IMAP__QUARANTINE_FOLDER: folders.quarantine,
      }),
    });
    const takenAt = new Date(Date.now() - 2 * 60 * 60 * 1000);
    const old = new Date(takenAt.getTime() - 5 * 24 * 60 * 60 * 1000);
    const ids = {
      before: `${tag}-before@t`, // filed long before the backup: not searched
      knownBytes: `${tag}-known-bytes@t`, // in the database by its SHA-256
      knownId: `${tag}-known-id@t`, // in the database by Message-ID (other bytes)
      lost: `${tag}-lost@t`, // processed after the backup: unknown
      lostQuarantined: `${tag}-lost-q@t`, // quarantined after the backup: unknown
    };
    const now = new Date();
    const raws = {
      before: mail(ids.before, old),
      knownBytes: mail(ids.knownBytes, now),
      knownId: mail(ids.knownId, now),
      lost: mail(ids.lost, now),
      lostQuarantined: mail(ids.lostQuarantined, now),
    };
    const setup = await openMailbox(stack, 'security');
    try {
      for (const f of Object.values(folders)) await setup.mailboxCreate(f);
      await setup.append(folders.processed, raws.before, [], old);
      await setup.append(folders.processed, raws.knownBytes, [], now);
      await setup.append(folders.processed, raws.knownId, [], now);
      await setup.append(folders.processed, raws.lost, [], now);
      await setup.append(folders.quarantine, raws.lostQuarantined, [], now);
    } finally {
      await setup.logout();
    }
    // The "database": bytes of one message, the Message-ID of another.
    const heldBytes = new Set([sha(raws.knownBytes)]);
    const heldIds = new Set([ids.knownId]);
    const recorded: MovedBack[] = [];
    const recovery = {
      since: takenAt,
      holds: (sha256: string, raw: Buffer) =>
        heldBytes.has(sha256) || heldIds.has(scanRawHeaders(raw).messageId ?? ''),
      done: (moved: MovedBack) => recorded.push(moved),
    };
    const c = createImapClient(cfg.imap, false);
    await c.connect();
    try {
      const moved = await recoverAfterRestore(c, cfg.imap, recovery, createLogger('silent'));
      expect(moved).toEqual({ processed: 1, quarantine: 1 });
      expect(recorded).toEqual([moved]);
      // A second run (a crash before done() was recorded) moves nothing twice.
      expect(await recoverAfterRestore(c, cfg.imap, recovery, createLogger('silent'))).toEqual({
        processed: 0,
        quarantine: 0,
      });
    } finally {
      await c.logout();
    }
    const check = await openMailbox(stack, 'security');
    const idsIn = async (folder: string): Promise<string[]> => {
      const lock = await check.getMailboxLock(folder);
      try {
        const out: string[] = [];
        if (check.mailbox === false || check.mailbox.exists === 0) return out;
        for await (const m of check.fetch('1:*', { envelope: true })) out.push(m.envelope?.messageId ?? '');
        return out.sort();
      } finally {
        lock.release();
      }
    };
    try {
      expect(await idsIn(folders.mailbox)).toEqual([`<${ids.lost}>`, `<${ids.lostQuarantined}>`].sort());
      expect(await idsIn(folders.processed)).toEqual(
        [`<${ids.before}>`, `<${ids.knownBytes}>`, `<${ids.knownId}>`].sort(),
      );
      expect(await idsIn(folders.quarantine)).toEqual([]);
    } finally {
      await check.logout();
    }
  });
});
