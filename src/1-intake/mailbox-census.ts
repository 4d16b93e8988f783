import { connectImap, type ImapConfig, type ImapOAuth2 } from './imap-client.js';

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
export async function mailboxCensus(
  cfg: ImapConfig,
  before: Date,
  oauth: ImapOAuth2 | null = null,
): Promise<MailboxCensus> {
  // A connection error rejects connectImap() or the command below.
  const c = await connectImap(cfg, false, oauth, (client) => client.on('error', () => undefined));
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
