import { ImapFlow } from 'imapflow';
import { eventually } from './eventually.js';
import { address, type StackInfo } from './stack.js';

/** An IMAP client logged in to one of the stack's mailboxes (real Dovecot). */
export async function openMailbox(
  stack: StackInfo,
  user: string,
  password = stack.password,
): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: stack.host,
    port: stack.imapPort,
    secure: false,
    doSTARTTLS: false,
    auth: { user: address(stack, user), pass: password },
    logger: false,
  });
  client.on('error', () => undefined); // surfaced by the failing command instead
  await client.connect();
  return client;
}

/** Waits until a mail with this Message-ID is in `folder` of `user`, and returns its raw source. */
export async function waitForMessage(
  stack: StackInfo,
  user: string,
  messageId: string,
  { folder = 'INBOX', timeoutMs = 15_000 } = {},
): Promise<Buffer> {
  const client = await openMailbox(stack, user);
  try {
    return await eventually(
      async () => {
        const lock = await client.getMailboxLock(folder);
        try {
          const uids = await client.search({ header: { 'message-id': messageId } }, { uid: true });
          const uid = Array.isArray(uids) ? uids[0] : undefined;
          if (uid === undefined) return undefined;
          const msg = await client.fetchOne(String(uid), { source: true }, { uid: true });
          return msg && msg.source ? msg.source : undefined;
        } finally {
          lock.release();
        }
      },
      { timeoutMs, intervalMs: 200, what: `${messageId} in ${user}/${folder}` },
    );
  } finally {
    await client.logout();
  }
}
