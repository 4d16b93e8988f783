import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../../src/7-cases/db.js';
import { verifyEventChain } from '../../../src/7-cases/events.js';
import { firstNotification, loadOutbox, splitRejected } from '../../../src/7-cases/outbox-store.js';
import type { Config } from '../../../src/config/schema.js';
import { renderOutbox, type DeliverDeps } from '../../../src/8-outbox/deliver.js';
import { ReportCache } from '../../../src/8-outbox/report-view.js';
import { createSmtpTransport } from '../../../src/8-outbox/smtp-transport.js';
import { loadTemplates } from '../../../src/8-outbox/templates.js';
import { createLogger } from '../../../src/core/log.js';
import { loadTeamKeys } from '../../../src/pgp/keyring.js';
import { createSealer } from '../../../src/pgp/sealer.js';
import { buildDecoded } from '../../support/builders.js';
import { migratedDb } from '../../support/db.js';
import { ingestHarness } from '../../support/ingest.js';
import { REPO } from '../../support/stack.js';

/**
 * #16: one staff notification per group of staff that gets the same mail (all three test staff
 * have keys: one row), threaded per group, still threaded for databases holding the one-row-per-
 * member notifications of older versions; a recipient the relay refuses gets a row of its own.
 */
const harness = ingestHarness({ at: '2026-12-01T12:00:00Z' });
const { clock, config, ingest } = harness;
const STAFF = ['alice@psirt.test', 'bob@psirt.test', 'carol@psirt.test'];
const key = (who: string) => readFileSync(join(REPO, `test/fixtures/keys/${who}.pub.asc`), 'utf8');

async function renderDeps(
  db: Db,
  cfg: Config = config,
  keyed = ['alice', 'bob', 'carol'],
): Promise<DeliverDeps> {
  const teamKeys = await loadTeamKeys(cfg.pgp, clock);
  return {
    config: cfg,
    db,
    clock,
    log: createLogger('silent'),
    templates: loadTemplates(join(REPO, 'config', 'templates')),
    sealer: createSealer(teamKeys[0]!),
    // Never connects: rendering sends nothing.
    transport: createSmtpTransport(cfg.smtp),
    teamKeys,
    staffKeys: new Map(keyed.map((who) => [`${who}@psirt.test`, key(who)])),
    calendar: harness.calendar,
    reports: new ReportCache(),
    vault: harness.vault,
  };
}

const notifications = (db: Db) =>
  (
    db
      .prepare(
        "SELECT id, recipients, message_id, dedupe_key FROM outbox WHERE kind = 'staff-notification' ORDER BY id",
      )
      .all() as { id: number; recipients: string; message_id: string; dedupe_key: string }[]
  ).map((r) => ({ ...r, recipients: JSON.parse(r.recipients) as string[] }));

/** A report and a follow-up on our acknowledgment's thread: the case, and both rows' ids. */
function reportAndFollowUp(db: Db, between?: () => void): { caseId: string } {
  const report = ingest(db, buildDecoded({ messageId: 'grp-report@reporter.test' }));
  between?.();
  const ack = db.prepare("SELECT message_id FROM outbox WHERE kind = 'acknowledgment'").get() as {
    message_id: string;
  };
  ingest(
    db,
    buildDecoded({
      messageId: 'grp-follow-up@reporter.test',
      inReplyTo: ack.message_id,
      references: [ack.message_id],
      subject: 'Re: more',
    }),
  );
  return { caseId: report.result.caseId! };
}

describe('grouped staff notifications (#16)', () => {
  it("a group's follow-up notification answers the group's first notification of the case", async () => {
    const db = migratedDb(clock);
    const { caseId } = reportAndFollowUp(db);
    const [first, follow] = notifications(db);
    expect(notifications(db).map((n) => n.recipients)).toEqual([STAFF, STAFF]);
    expect(firstNotification(db, caseId, STAFF, follow!.id)).toEqual([first!.message_id]);
    expect(firstNotification(db, caseId, STAFF, first!.id)).toEqual([]);
    const { mail } = await renderOutbox(await renderDeps(db), loadOutbox(db, follow!.id)!);
    expect(mail.to).toEqual(STAFF);
    expect(mail.inReplyTo).toBe(first!.message_id);
    expect(mail.references).toEqual([first!.message_id]);
  });

  it('on a database written before #16 (one notification row per member) the References name each member’s own first one', async () => {
    const db = migratedDb(clock);
    // The report's notification as older versions wrote it: one row per member, keyed by address.
    const { caseId } = reportAndFollowUp(db, () => {
      const [grouped] = notifications(db);
      const row = db.prepare('SELECT * FROM outbox WHERE id = ?').get(grouped!.id) as Record<string, unknown>;
      db.prepare('DELETE FROM outbox WHERE id = ?').run(grouped!.id);
      for (const who of STAFF) {
        db.prepare(
          `INSERT INTO outbox (case_id, kind, dedupe_key, recipients, message_id, subject, payload, created_at)
           VALUES (?, 'staff-notification', ?, json_array(?), ?, ?, ?, ?)`,
        ).run(
          row.case_id,
          `notify:${String(JSON.parse(row.payload as string).messageRowId)}:${who}`,
          who,
          `legacy-${who}`,
          row.subject,
          row.payload,
          row.created_at,
        );
      }
    });
    const rows = notifications(db);
    expect(rows.map((n) => n.recipients)).toEqual([[STAFF[0]], [STAFF[1]], [STAFF[2]], STAFF]);
    const follow = rows[3]!;
    const legacy = STAFF.map((who) => `legacy-${who}`);
    expect(firstNotification(db, caseId, STAFF, follow.id)).toEqual(legacy);
    const { mail } = await renderOutbox(await renderDeps(db), loadOutbox(db, follow.id)!);
    expect(mail.inReplyTo).toBe('legacy-alice@psirt.test');
    expect(mail.references).toEqual(legacy);
    // The legacy rows of one member still thread that member's old-style follow-up alone.
    expect(firstNotification(db, caseId, [STAFF[1]!], follow.id)).toEqual(['legacy-bob@psirt.test']);
  });

  it('gives the whole group the withheld mail, never the report, when a member’s key was removed before it was sent', async () => {
    const db = migratedDb(clock);
    ingest(db, buildDecoded({ messageId: 'grp-nokey@reporter.test', text: 'SECRET-REPORT-BODY' }));
    const [note] = notifications(db);
    const built = await renderOutbox(
      await renderDeps(db, config, ['alice', 'carol']),
      loadOutbox(db, note!.id)!,
    );
    expect(built.protection.kind).toBe('signed');
    expect(built.mail.text).toContain('not mailed to you in clear');
    expect(built.mail.text).not.toContain('SECRET-REPORT-BODY');
  });

  describe('when the relay took the mail for some recipients and refused others', () => {
    function claimedNotification(db: Db) {
      ingest(db, buildDecoded({ messageId: `grp-split-${String(Math.random())}@reporter.test` }));
      const [note] = notifications(db);
      db.prepare("UPDATE outbox SET state = 'sending', attempts = 1 WHERE id = ?").run(note!.id);
      return loadOutbox(db, note!.id)!;
    }
    const alert = { recipients: ['alice@psirt.test', 'carol@psirt.test'], domain: 'psirt.test' };

    it('keeps on the row only those who took it; a 4xx-refused member gets a pending row of their own to retry', () => {
      const db = migratedDb(clock);
      const row = claimedNotification(db);
      const split = splitRejected(
        db,
        clock,
        row,
        [{ address: 'bob@psirt.test', permanent: false, error: 'bob@psirt.test: 452 4.2.2 Mailbox full' }],
        alert,
      );
      expect(split.row.recipients).toEqual(['alice@psirt.test', 'carol@psirt.test']);
      expect(loadOutbox(db, row.id)!.recipients).toEqual(['alice@psirt.test', 'carol@psirt.test']);
      expect(split.enqueue).toHaveLength(1);
      const own = loadOutbox(db, split.enqueue[0]!)!;
      expect(own).toMatchObject({
        kind: 'staff-notification',
        recipients: ['bob@psirt.test'],
        state: 'pending',
        attempts: 0,
        dedupe_key: `${row.dedupe_key}:rcpt:bob@psirt.test`,
        subject: row.subject,
        payload: row.payload,
        last_error: 'bob@psirt.test: 452 4.2.2 Mailbox full',
        case_id: row.case_id,
      });
      expect(own.message_id).not.toBe(row.message_id);
      expect(db.prepare("SELECT data FROM events WHERE type = 'outbox.split'").all()).toEqual([
        {
          data: JSON.stringify({
            outboxId: row.id,
            kind: 'staff-notification',
            splitTo: own.id,
            cause: 'refused',
            permanent: false,
          }),
        },
      ]);
      // Bob's own row is his first notification now: he never got the group's.
      expect(firstNotification(db, row.case_id!, ['bob@psirt.test'], own.id + 1)).toEqual([own.message_id]);
      expect(verifyEventChain(db).ok).toBe(true);
    });

    it('fails a 5xx-refused member’s own row at once and queues the staff alert about it', () => {
      const db = migratedDb(clock);
      const row = claimedNotification(db);
      const error = 'bob@psirt.test: 550 5.1.1 <bob@psirt.test>: Recipient address rejected';
      const split = splitRejected(
        db,
        clock,
        row,
        [{ address: 'bob@psirt.test', permanent: true, error }],
        alert,
      );
      expect(split.row.recipients).toEqual(['alice@psirt.test', 'carol@psirt.test']);
      const own = db
        .prepare('SELECT id, state, last_error, recipients FROM outbox WHERE dedupe_key = ?')
        .get(`${row.dedupe_key}:rcpt:bob@psirt.test`) as {
        id: number;
        state: string;
        last_error: string;
        recipients: string;
      };
      expect(own).toMatchObject({ state: 'failed', last_error: error, recipients: '["bob@psirt.test"]' });
      expect(split.enqueue).toHaveLength(1);
      expect(loadOutbox(db, split.enqueue[0]!)).toMatchObject({
        kind: 'delivery-alert',
        recipients: alert.recipients,
        payload: { template: 'delivery-failed', failedOutboxId: own.id },
      });
    });

    it('changes nothing when every recipient took it, and never writes a member’s row twice', () => {
      const db = migratedDb(clock);
      const row = claimedNotification(db);
      expect(splitRejected(db, clock, row, [], alert)).toEqual({ row, enqueue: [] });
      const refused = [{ address: 'bob@psirt.test', permanent: false, error: 'bob@psirt.test: 451' }];
      const once = splitRejected(db, clock, row, refused, alert);
      // The same refusal again (the row sent again after a crash before it was marked sent).
      expect(splitRejected(db, clock, row, refused, alert).enqueue).toEqual([]);
      expect(notifications(db).map((n) => n.recipients)).toEqual([
        ['alice@psirt.test', 'carol@psirt.test'],
        ['bob@psirt.test'],
      ]);
      expect(once.enqueue).toHaveLength(1);
    });
  });
});
