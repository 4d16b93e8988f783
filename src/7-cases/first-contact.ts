import type { Db } from './db.js';
import {
  REPLIED_TO_US,
  type AckHeld,
  type AckStatus,
  type CorrespondentFacts,
} from './rules/first-contact.js';

export type { AckHeld, AckStatus, KnownBy } from './rules/first-contact.js';

/**
 * What the store knows of `sender` for `rules/first-contact.ts` `knownBy`, read before the mail's
 * own writes. A key pinned from an earlier mail counts only once a mail signed by it proved that
 * the sender holds it: anyone can attach a key they made to a forged From: (issue #10 review).
 */
export function readCorrespondent(db: Db, sender: string, messageRowId: number): CorrespondentFacts {
  const provenPin = db
    .prepare(
      `SELECT 1 FROM reporter_keys k
       WHERE k.address = ? AND k.status = 'pinned'
         AND (k.first_message_id IS NULL OR k.first_message_id <> ?)
         AND EXISTS (SELECT 1 FROM events e JOIN cases c ON c.id = e.case_id
                     WHERE c.reporter_address = k.address
                       AND e.type IN ('acknowledgment.queued', 'acknowledgment.held', 'case.imported')
                       AND e.data ->> '$.knownBy' = 'signature')
       LIMIT 1`,
    )
    .get(sender, messageRowId);
  return { provenPin: provenPin !== undefined, repliedToUs: repliedToUs(db, sender) };
}

/**
 * The LIKE pattern of every plus-tagged form of `address`'s mailbox (`user+…@domain`), and the
 * mailbox itself (`user@domain`): one mailbox gets one flood allowance, whatever tags a forger
 * adds (issue #10 review).
 */
export function mailboxOf(address: string): { mailbox: string; tagged: string } {
  const at = address.lastIndexOf('@');
  const local = at === -1 ? address : address.slice(0, at);
  const domain = at === -1 ? '' : address.slice(at);
  const plus = local.indexOf('+');
  const base = plus === -1 ? local : local.slice(0, plus);
  const escape = (v: string): string => v.replace(/[\\%_]/g, (c) => `\\${c}`);
  return { mailbox: `${base}${domain}`, tagged: `${escape(base)}+%${escape(domain)}` };
}

function repliedToUs(db: Db, sender: string): boolean {
  return (
    db
      .prepare(
        `SELECT 1 FROM cases c JOIN events e ON e.case_id = c.id
         WHERE c.reporter_address = ? AND e.type = ? LIMIT 1`,
      )
      .get(sender, REPLIED_TO_US) !== undefined
  );
}

/**
 * The outbox row addressed to `sender` that this mail answers (its Message-ID in `threadIds`), when
 * the sender has not proved their mailbox that way before; null otherwise.
 */
export function answeredOutbox(db: Db, sender: string, threadIds: readonly string[]): number | null {
  if (sender === '' || threadIds.length === 0 || repliedToUs(db, sender)) return null;
  // Only mail to the case's reporter: the event is found again through cases.reporter_address.
  const find = db.prepare(
    `SELECT o.id FROM outbox o JOIN cases c ON c.id = o.case_id
     WHERE o.message_id = ? AND o.recipients = json_array(?) AND c.reporter_address = ?`,
  );
  for (const id of threadIds) {
    const row = find.get(id, sender, sender) as { id: number } | undefined;
    if (row !== undefined) return row.id;
  }
  return null;
}

/** One line for staff (notification, `psirt cases show`) saying why an acknowledgment was held. */
export function describeAckHeld(held: AckHeld | undefined): string {
  if (held === undefined) return '';
  const got = `${held.lastHour} acknowledgment(s) went to this address in the last hour`;
  return held.reason === 'first-contact'
    ? `first contact (no pinned key, no valid signature by their key, never replied to our mail): ${got}, the limit for first contact is ${held.limit} per hour (acknowledgment.max_first_contact_per_hour)`
    : `${got}, the limit is ${held.limit} per hour (acknowledgment.max_per_sender_per_hour)`;
}

export function acknowledgmentOf(db: Db, caseId: string): AckStatus {
  const row = db
    .prepare(
      "SELECT id, state, dedupe_key FROM outbox WHERE case_id = ? AND kind = 'acknowledgment' ORDER BY id LIMIT 1",
    )
    .get(caseId) as { id: number; state: string; dedupe_key: string } | undefined;
  if (row !== undefined) {
    return {
      state: 'mailed',
      outboxId: row.id,
      outboxState: row.state,
      byCommand: row.dedupe_key.startsWith('ack-command:'),
    };
  }
  const ev = db
    .prepare(
      "SELECT type, data FROM events WHERE case_id = ? AND type IN ('acknowledgment.held', 'acknowledgment.rate-limited', 'acknowledgment.skipped') ORDER BY id DESC LIMIT 1",
    )
    .get(caseId) as { type: string; data: string } | undefined;
  if (ev === undefined) return { state: 'none' };
  const data = JSON.parse(ev.data) as { reason?: unknown; limit?: unknown; lastHour?: unknown };
  if (ev.type === 'acknowledgment.skipped')
    return { state: 'skipped', reason: typeof data.reason === 'string' ? data.reason : '' };
  return {
    state: 'held',
    held: {
      // `acknowledgment.rate-limited`: recorded before first contact was told apart.
      reason: data.reason === 'first-contact' ? 'first-contact' : 'rate-limit',
      limit: typeof data.limit === 'number' ? data.limit : 0,
      lastHour: typeof data.lastHour === 'number' ? data.lastHour : 0,
    },
  };
}
