import { createHash } from 'node:crypto';
import type { ImapFlow } from 'imapflow';
import type { Logger } from '../core/log.js';
import type { ImapConfig } from './imap-client.js';

/**
 * After `psirt restore` (#13): mail that the old service processed after the backup was taken
 * was moved out of the INBOX into the processed or quarantine folder, and the restored database
 * does not know it. Before its first sync, the intake looks in both folders for messages that
 * arrived since the backup (IMAP SEARCH SINCE, one day earlier: SINCE compares dates only, in
 * the server's zone) and whose bytes and Message-ID the database does not hold, and moves them
 * back to the INBOX, where the normal intake processes each once (invariant 2 keeps the rest out).
 */
export interface RestoreRecovery {
  /** When the restored backup was taken. */
  since: Date;
  /** Whether the database holds this message (by its SHA-256, or the Message-ID in its bytes). */
  holds(sha256: string, raw: Buffer): boolean;
  /** Records that the recovery finished (counts only), so it runs once. */
  done(moved: MovedBack): void;
}

export interface MovedBack {
  processed: number;
  quarantine: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Moves the messages of `folder` filed since `since` − 1 day and unknown to the database to the INBOX. */
async function moveBackFrom(
  c: ImapFlow,
  folder: string,
  inbox: string,
  recovery: RestoreRecovery,
): Promise<number> {
  const lock = await c.getMailboxLock(folder);
  try {
    const found = await c.search({ since: new Date(recovery.since.getTime() - DAY_MS) }, { uid: true });
    if (!Array.isArray(found) || found.length === 0) return 0;
    const back: number[] = [];
    // Collected first: no other IMAP command may run while a FETCH streams.
    for await (const m of c.fetch(found.join(','), { uid: true, source: true }, { uid: true })) {
      if (m.source === undefined) continue;
      const sha256 = createHash('sha256').update(m.source).digest('hex');
      if (!recovery.holds(sha256, m.source)) back.push(m.uid);
    }
    if (back.length > 0) await c.messageMove(back.join(','), inbox, { uid: true });
    return back.length;
  } finally {
    lock.release();
  }
}

/**
 * Runs the recovery on a connected client: both folders, then `done`. A failure throws before
 * `done`, so the next connection runs it again; a message already moved back is then in the
 * INBOX (or, once processed, known), so a repeat moves nothing twice.
 */
export async function recoverAfterRestore(
  c: ImapFlow,
  cfg: ImapConfig,
  recovery: RestoreRecovery,
  log: Logger,
): Promise<MovedBack> {
  const moved: MovedBack = {
    processed: await moveBackFrom(c, cfg.processed_folder, cfg.mailbox, recovery),
    quarantine: await moveBackFrom(c, cfg.quarantine_folder, cfg.mailbox, recovery),
  };
  recovery.done(moved);
  log.info(
    { event: 'intake.restore-recovered', processed: moved.processed, quarantine: moved.quarantine },
    'mail filed after the restored backup moved back to the INBOX',
  );
  return moved;
}
