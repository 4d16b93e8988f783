import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { mintMessageId } from '../core/message-id.js';
import type { Vault } from '../core/vault.js';
import type { MailProbePayload } from '../8-outbox/kinds/mail-probe.js';
import {
  formatProbeHeader,
  probeDue,
  probeSigned,
  type ProbeClaim,
  type ProbeFacts,
} from '../policy/deadman.js';
import type { Db } from './db.js';

/**
 * The dead-man's probes (#15, migration 0019 `probes`): claimed with their outbox row in one
 * IMMEDIATE transaction (two processes send one probe per interval), marked returned by the
 * intake. Tokens are random; rows hold no content.
 */

export interface ProbeSpec {
  from: string;
  to: string;
  domain: string;
  intervalSeconds: number;
  windowSeconds: number;
}

/**
 * Writes the next probe when one is due (none sent in the last interval): its `probes` row and
 * its outbox row, in one IMMEDIATE transaction. Returns the outbox row id, or null when none is due.
 */
export function claimProbe(db: Db, clock: Clock, vault: Vault, spec: ProbeSpec): number | null {
  return db
    .transaction((): number | null => {
      const now = clock.now();
      if (!probeDue(lastProbeSent(db), now, spec.intervalSeconds)) return null;
      const token = randomBytes(18).toString('base64url');
      const sentAt = now.toISOString();
      const { keyId, tag } = vault.mac(probeSigned(token, sentAt), 'deadman.probe');
      const payload: MailProbePayload = {
        template: 'mail-probe',
        autoSubmitted: 'auto-generated',
        header: formatProbeHeader(keyId, token, sentAt, tag),
      };
      const info = db
        .prepare(
          `INSERT INTO outbox (case_id, kind, dedupe_key, recipients, message_id, subject, payload, created_at, route)
           VALUES (NULL, 'mail-probe', ?, ?, ?, ?, ?, ?, 'primary')`,
        )
        .run(
          `probe:${token}`,
          JSON.stringify([spec.to]),
          mintMessageId('psirt', 'probe', spec.domain),
          '[psirt] dead-man probe',
          JSON.stringify(payload),
          sentAt,
        );
      const outboxId = Number(info.lastInsertRowid);
      db.prepare('INSERT INTO probes (token, sent_at, due_at, outbox_id) VALUES (?, ?, ?, ?)').run(
        token,
        sentAt,
        new Date(now.getTime() + spec.windowSeconds * 1000).toISOString(),
        outboxId,
      );
      return outboxId;
    })
    .immediate();
}

function lastProbeSent(db: Db): Date | null {
  const row = db.prepare('SELECT max(sent_at) AS at FROM probes').get() as { at: string | null };
  return row.at === null ? null : new Date(row.at);
}

/** What the intake makes of a mail that carries a probe header (recordProbeReturn). */
export type ProbeSeen = 'returned' | 'again' | 'refused' | 'replayed' | 'stale';

/**
 * Records a probe that came back. A mail is our probe only when its MAC holds
 * (`vault.verifyMac`), its token is one we sent, and its Message-ID is the one minted for that
 * probe's outbox row: the header alone proves nothing (staff, archives and forwards see it), so
 * a copy of it in another mail is 'replayed' and stays ordinary mail.
 * - 'returned' the first time; 'again' for a second copy of that very mail (a double delivery,
 *   or a crash before the intake filed it: filed again, nothing recorded);
 * - 'refused' for a forged header or a token we never sent; 'replayed' for a valid header in a
 *   mail with another Message-ID; 'stale' for a probe sent more than `maxAgeSeconds` ago.
 * Every outcome but 'returned' and 'again' leaves the mail to the intake as ordinary mail.
 */
export function recordProbeReturn(
  db: Db,
  clock: Clock,
  vault: Vault,
  claim: ProbeClaim,
  mail: { messageId: string | null; maxAgeSeconds: number },
): ProbeSeen {
  if (!vault.verifyMac(claim.keyId, claim.signed, claim.tag, 'deadman.probe')) return 'refused';
  const sent = db
    .prepare(
      `SELECT o.message_id AS message_id FROM probes p JOIN outbox o ON o.id = p.outbox_id
       WHERE p.token = ? AND p.sent_at = ?`,
    )
    .get(claim.token, claim.sentAt) as { message_id: string } | undefined;
  if (sent === undefined) return 'refused';
  if (mail.messageId === null || mail.messageId !== sent.message_id) return 'replayed';
  const now = clock.now();
  if (now.getTime() - Date.parse(claim.sentAt) > mail.maxAgeSeconds * 1000) return 'stale';
  const info = db
    .prepare('UPDATE probes SET returned_at = ? WHERE token = ? AND sent_at = ? AND returned_at IS NULL')
    .run(now.toISOString(), claim.token, claim.sentAt);
  return info.changes === 1 ? 'returned' : 'again';
}

/** The probes as roundtripVerdict reads them. */
export function probeFacts(db: Db): ProbeFacts {
  // A probe held back by a relay that is down has not been on the mail path yet: while the
  // relay-down alarm is open it is not lost (that alarm tells on-call already, #15 trial), and a
  // probe mailed late has its window counted from when the relay took it.
  const row = db
    .prepare(
      `SELECT p.sent_at, p.due_at, o.state AS mail_state, o.sent_at AS mailed_at FROM probes p
         LEFT JOIN outbox o ON o.id = p.outbox_id
       WHERE p.returned_at IS NULL
         AND p.sent_at > coalesce((SELECT max(sent_at) FROM probes WHERE returned_at IS NOT NULL), '')
         AND (o.state = 'sent'
              OR NOT EXISTS (SELECT 1 FROM alarms WHERE name = 'relay-down' AND cleared_at IS NULL))
       ORDER BY p.sent_at LIMIT 1`,
    )
    .get() as
    { sent_at: string; due_at: string; mail_state: string | null; mailed_at: string | null } | undefined;
  if (row === undefined) return { oldestOut: null };
  const sentAt = new Date(row.sent_at);
  let dueAt = new Date(row.due_at);
  if (row.mail_state === 'sent' && row.mailed_at !== null) {
    const late = Date.parse(row.mailed_at) - sentAt.getTime();
    if (late > 0) dueAt = new Date(dueAt.getTime() + late);
  }
  return { oldestOut: { sentAt, dueAt } };
}

/** Probes out (sent after the newest that returned, not returned): for the alert's detail. */
export function probesOut(db: Db): number {
  return (
    db
      .prepare(
        `SELECT count(*) AS n FROM probes WHERE returned_at IS NULL
         AND sent_at > coalesce((SELECT max(sent_at) FROM probes WHERE returned_at IS NOT NULL), '')`,
      )
      .get() as { n: number }
  ).n;
}
