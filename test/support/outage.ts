import { openMailbox } from './mailbox.js';
import { address, type StackInfo } from './stack.js';

/**
 * The reports of a relay outage (test/e2e/relay-outage.test.ts, scripts/drill-outage.ts): put
 * straight into security@ over IMAP (Postfix is down), and the acknowledgments they got.
 */

/** Appends `n` plain reports from reporter1 (a `+run` address) to security@'s INBOX. */
export async function appendOutageReports(
  s: StackInfo,
  run: string,
  n: number,
  tag = 'outage',
): Promise<void> {
  const client = await openMailbox(s, 'security');
  try {
    for (let i = 0; i < n; i++) {
      const raw = [
        `From: Reporter One <reporter1+${run}@${s.domain}>`,
        `To: ${address(s, 'security')}`,
        `Subject: ${tag} report ${String(i)}`,
        `Message-ID: <${run}-${String(i)}@${tag}.psirt>`,
        `Date: ${new Date().toUTCString()}`,
        'Content-Type: text/plain; charset=utf-8',
        '',
        `Report ${String(i)} of run ${run}. ${'Details of the flaw. '.repeat(20)}`,
        '',
      ].join('\r\n');
      await client.append('INBOX', raw);
    }
  } finally {
    await client.logout();
  }
}

/** Message-IDs of this run's acknowledgments in the reporter's mailbox, one entry per copy. */
export async function acknowledgmentIds(s: StackInfo, run: string): Promise<string[]> {
  const client = await openMailbox(s, 'reporter1');
  try {
    const lock = await client.getMailboxLock('INBOX');
    try {
      const uids = await client.search({ header: { 'in-reply-to': run } }, { uid: true });
      if (!Array.isArray(uids) || uids.length === 0) return [];
      const ids: string[] = [];
      for await (const m of client.fetch(uids.join(','), { envelope: true }, { uid: true }))
        ids.push(m.envelope?.messageId ?? '');
      return ids;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}
