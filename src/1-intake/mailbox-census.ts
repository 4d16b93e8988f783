import { createImapClient, type ImapConfig } from './imap-client.js';

/** What the configured mailbox holds (issue #15): every message, and those received before a date. */
export interface MailboxCensus {
  total: number;
  /** Messages whose INTERNALDATE is before `before` (IMAP SEARCH BEFORE: day granularity). */
  older: number;
}

/**
 * Counts the messages of `cfg.mailbox`, and those older than `before`, over one short connection
 * (read-only: nothing is flagged or moved). Throws when the server cannot be reached.
 */
export async function mailboxCensus(cfg: ImapConfig, before: Date): Promise<MailboxCensus> {
  const c = createImapClient(cfg, false);
  c.on('error', () => undefined); // a connection error rejects connect() or the command below
  await c.connect();
  try {
    const lock = await c.getMailboxLock(cfg.mailbox, { readOnly: true });
    try {
      const box = c.mailbox;
      const total = box === false ? 0 : box.exists;
      if (total === 0) return { total: 0, older: 0 };
      const found = await c.search({ before }, { uid: true });
      return { total, older: Array.isArray(found) ? found.length : 0 };
    } finally {
      lock.release();
    }
  } finally {
    await c.logout().catch(() => c.close());
  }
}
