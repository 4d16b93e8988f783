import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { mintMessageId } from '../core/message-id.js';
import type { DueChannelAlert } from '../policy/channel-watch.js';
import type { ChannelExpiryPayload } from '../8-outbox/kinds/channel-expiry.js';
import { mailDomain } from './addresses.js';
import type { Db } from './db.js';
import { appendEvent } from './events.js';
import { sanitizeSubject } from './subject.js';

/** The mail's subject: what expires and when (no case, no report: there is none). */
function alertSubject(a: DueChannelAlert, past: boolean): string {
  const what = a.subject === 'security.txt' ? 'security.txt' : 'the signing team key';
  return sanitizeSubject(
    `Public channel: ${what} ${past ? 'expired' : 'expires'} on ${a.expiresAt.toISOString().slice(0, 10)}`,
  );
}

/**
 * Records one due alert of the public-channel watch (issue #12) and writes its mail to the
 * accountable role: claims the (subject, expires_at) row of `channel_alerts`, writes the outbox
 * row and an event, all in one IMMEDIATE transaction — so of several escalation workers exactly
 * one sends it, and each date is alerted once. Returns the outbox row id, or null when this date
 * was alerted before.
 */
export function recordChannelAlert(
  db: Db,
  clock: Clock,
  config: Config,
  alert: DueChannelAlert,
): number | null {
  const expiresAt = alert.expiresAt.toISOString();
  const seen = db.prepare('SELECT 1 FROM channel_alerts WHERE subject = ? AND expires_at = ?');
  // Already alerted (every sweep after the first): no write lock taken.
  if (seen.get(alert.subject, expiresAt) !== undefined) return null;
  return db
    .transaction((): number | null => {
      const now = clock.now();
      const at = now.toISOString();
      const claimed = db
        .prepare(
          'INSERT INTO channel_alerts (subject, expires_at, alerted_at) VALUES (?, ?, ?) ON CONFLICT (subject, expires_at) DO NOTHING',
        )
        .run(alert.subject, expiresAt, at);
      if (claimed.changes === 0) return null;
      const payload: ChannelExpiryPayload = {
        template: 'channel-expiry',
        autoSubmitted: 'auto-generated',
        subject: alert.subject,
        expiresAt,
      };
      const info = db
        .prepare(
          `INSERT INTO outbox (case_id, kind, dedupe_key, recipients, message_id, subject, payload, created_at)
           VALUES (NULL, 'channel-expiry', ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
        )
        .run(
          `channel:${alert.subject}:${expiresAt}`,
          JSON.stringify([config.escalation.accountable_address]),
          mintMessageId('psirt', 'channel-expiry', mailDomain(config)),
          alertSubject(alert, now.getTime() >= alert.expiresAt.getTime()),
          JSON.stringify(payload),
          at,
        );
      // A mail of this date already in the outbox (its alert row removed by hand): not again.
      const outboxId = info.changes > 0 ? Number(info.lastInsertRowid) : null;
      db.prepare('UPDATE channel_alerts SET outbox_id = ? WHERE subject = ? AND expires_at = ?').run(
        outboxId,
        alert.subject,
        expiresAt,
      );
      appendEvent(db, clock, {
        caseId: null,
        type: 'channel.expiry-alerted',
        actor: 'system',
        data: { subject: alert.subject, expiresAt, outboxId },
      });
      return outboxId;
    })
    .immediate();
}
