import { describe, expect, it } from 'vitest';
import type { Db } from '../../../src/7-cases/db.js';
import { verifyEventChain } from '../../../src/7-cases/events.js';
import { loadOutbox, markSent } from '../../../src/7-cases/outbox-store.js';
import { showCase } from '../../../src/7-cases/queries.js';
import type { DecodedMessage, FoundKey, SignatureVerdict } from '../../../src/2-decode/types.js';
import { buildDecoded, buildSignedStaffMail } from '../../support/builders.js';
import { migratedDb } from '../../support/db.js';
import { ingestHarness } from '../../support/ingest.js';

// Issue #10 item 3: a burst from one unknown sender gets one acknowledgment; a sender who proved a
// key or their mailbox gets the ordinary limit; staff see what was held back and can send it.
const { clock, config, ingest } = ingestHarness();
const FPR = 'AB'.repeat(20);
const KEY: FoundKey = {
  fingerprint: FPR,
  armored: 'test-key',
  source: 'attachment',
  addresses: ['reporter1@psirt.test'],
};
const SIGNED: SignatureVerdict = {
  state: 'valid',
  fingerprint: FPR,
  keyId: FPR.slice(-16),
  createdAt: '2026-11-24T11:59:00.000Z',
  digest: 'd'.repeat(64),
  format: 'pgp-mime',
};
let n = 0;

/** A new report from reporter1, one second after the previous one. */
function report(db: Db, over: Partial<DecodedMessage> = {}) {
  n += 1;
  clock.set(new Date(Date.parse('2026-11-24T12:00:00Z') + n * 1000));
  return ingest(db, buildDecoded({ messageId: `burst-${n}@x`, subject: `report ${n}`, ...over }));
}

const acks = (db: Db) =>
  db
    .prepare(
      "SELECT id, case_id, in_reply_to, recipients FROM outbox WHERE kind = 'acknowledgment' ORDER BY id",
    )
    .all() as {
    id: number;
    case_id: string;
    in_reply_to: string | null;
    recipients: string;
  }[];
const cases = (db: Db) => (db.prepare('SELECT count(*) AS n FROM cases').get() as { n: number }).n;
const notificationPayloads = (db: Db, caseId: string) =>
  (
    db
      .prepare("SELECT payload FROM outbox WHERE kind = 'staff-notification' AND case_id = ?")
      .all(caseId) as { payload: string }[]
  ).map((r) => JSON.parse(r.payload) as { ackHeld?: unknown });

describe('acknowledgments to a first-contact sender (issue #10)', () => {
  it('two unsigned reports without a key a second apart: two cases, one acknowledgment', () => {
    const db = migratedDb(clock);
    report(db);
    const second = report(db);
    expect(cases(db)).toBe(2);
    expect(acks(db).map((a) => a.case_id)).toEqual(['SEC-2026-0001']);
    expect(
      db
        .prepare("SELECT data FROM events WHERE type = 'acknowledgment.held' AND case_id = ?")
        .get(second.result.caseId),
    ).toEqual({
      data: JSON.stringify({
        messageRowId: second.rowId,
        reason: 'first-contact',
        limit: config.acknowledgment.max_first_contact_per_hour,
        lastHour: 1,
        knownBy: null,
      }),
    });
    expect(verifyEventChain(db).ok).toBe(true);
  });

  it('tells staff in the notification of the held report that its acknowledgment was held back, and why', () => {
    const db = migratedDb(clock);
    const first = report(db);
    const second = report(db);
    expect(notificationPayloads(db, first.result.caseId!).every((p) => p.ackHeld === undefined)).toBe(true);
    const held = notificationPayloads(db, second.result.caseId!);
    // #16: one notification to the group (every test staff member has a key), not one each.
    expect(held).toHaveLength(1);
    expect(
      held.every((p) => JSON.stringify(p.ackHeld) === '{"reason":"first-contact","limit":1,"lastHour":1}'),
    ).toBe(true);
  });

  it('psirt cases show reports the held acknowledgment with its reason', () => {
    const db = migratedDb(clock);
    report(db);
    const second = report(db);
    expect(showCase(db, second.result.caseId!)?.acknowledgment).toEqual({
      state: 'held',
      held: { reason: 'first-contact', limit: 1, lastHour: 1 },
    });
    expect(showCase(db, 'SEC-2026-0001')?.acknowledgment).toMatchObject({
      state: 'mailed',
      byCommand: false,
    });
  });

  const knownBy = (db: Db) =>
    (
      db
        .prepare(
          "SELECT data ->> '$.knownBy' AS k FROM events WHERE type IN ('acknowledgment.queued', 'acknowledgment.held') ORDER BY id",
        )
        .all() as { k: string | null }[]
    ).map((r) => r.k);

  it('unsigned reports carrying a key anyone could have made (pinned by the first) prove nothing: one acknowledgment', () => {
    const db = migratedDb(clock);
    for (let i = 0; i < 3; i++) report(db, { keys: [KEY] });
    expect(acks(db)).toHaveLength(1);
    expect(knownBy(db)).toEqual([null, null, null]);
  });

  it('once a signed report proved the pinned key, unsigned reports from that address count as known', () => {
    const db = migratedDb(clock);
    report(db, { keys: [KEY], signature: SIGNED });
    report(db);
    report(db);
    expect(acks(db)).toHaveLength(3);
    expect(knownBy(db)).toEqual(['signature', 'pinned-key', 'pinned-key']);
  });

  it('plus-tagged forms of one mailbox share one first-contact allowance', () => {
    const db = migratedDb(clock);
    for (const from of ['drop+1@x.test', 'drop+2@x.test', 'drop@x.test', 'drop+a_b%@x.test']) {
      report(db, { from: { address: from, name: null } });
    }
    report(db, { from: { address: 'dropx@x.test', name: null } });
    expect(acks(db).map((a) => a.recipients)).toEqual([
      JSON.stringify(['drop+1@x.test']),
      JSON.stringify(['dropx@x.test']),
    ]);
  });

  it('three signed reports from a researcher (the key in the first only): three acknowledgments', () => {
    const db = migratedDb(clock);
    report(db, { keys: [KEY], signature: SIGNED });
    report(db, { signature: { ...SIGNED, digest: 'e'.repeat(64) } });
    report(db, { signature: { ...SIGNED, digest: 'f'.repeat(64) } });
    expect(acks(db)).toHaveLength(3);
  });

  it('a signature by a key that is not the pinned key of the address does not count', () => {
    const db = migratedDb(clock);
    report(db);
    report(db, { signature: { ...SIGNED, fingerprint: 'CD'.repeat(20) } });
    expect(acks(db)).toHaveLength(1);
  });

  it('a sender who replied to our acknowledgment (by its Message-ID) is known: their next report is acknowledged', () => {
    const db = migratedDb(clock);
    report(db);
    const ack = db.prepare("SELECT message_id FROM outbox WHERE kind = 'acknowledgment'").get() as {
      message_id: string;
    };
    const reply = report(db, {
      inReplyTo: ack.message_id,
      references: [ack.message_id],
      subject: 'Re: more',
    });
    expect(reply.classification.kind).toBe('follow-up');
    report(db);
    expect(acks(db)).toHaveLength(2);
    expect(
      db.prepare("SELECT count(*) AS n FROM events WHERE type = 'reporter.replied-to-us'").get(),
    ).toEqual({ n: 1 });
  });

  it('a follow-up matched only by the (guessable) subject tag proves nothing', () => {
    const db = migratedDb(clock);
    report(db);
    const reply = report(db, { subject: 'Re: [SEC-2026-0001] more' });
    expect(reply.classification).toMatchObject({ kind: 'follow-up', matchedBy: 'subject-tag' });
    report(db);
    expect(acks(db)).toHaveLength(1);
  });

  it('a known sender is still held to acknowledgment.max_per_sender_per_hour', () => {
    const db = migratedDb(clock);
    const max = config.acknowledgment.max_per_sender_per_hour;
    // Known by signature: every report signed by the key the first one brought.
    for (let i = 0; i <= max; i++)
      report(db, { keys: [KEY], signature: { ...SIGNED, digest: `${i}`.padStart(64, 'a') } });
    expect(acks(db)).toHaveLength(max);
    expect(
      db.prepare("SELECT data ->> '$.reason' AS reason FROM events WHERE type = 'acknowledgment.held'").all(),
    ).toEqual([{ reason: 'rate-limit' }]);
  });
});

describe('/ack (issue #10)', () => {
  let s = 0;
  /** alice's signed command mail, its subject in signed protected headers (decision 0005). */
  const command = (db: Db, subject: string, who = 'alice') => {
    s += 1;
    const member = config.staff.find((m) => m.address === `${who}@psirt.test`)!;
    return ingest(
      db,
      buildSignedStaffMail(
        member,
        subject,
        { from: { address: member.address, name: who }, text: 'ok' },
        {
          messageId: `cmd-${s}@psirt.test`,
          signedAt: clock.now().toISOString(),
          digest: `${s}`.padStart(64, '1'),
        },
      ),
    );
  };
  const confirmation = (db: Db) =>
    JSON.parse(
      (
        db
          .prepare("SELECT payload FROM outbox WHERE kind = 'command-confirmation' ORDER BY id DESC")
          .get() as {
          payload: string;
        }
      ).payload,
    ) as { outcomes: { text: string; applied: boolean; detail: string }[] };

  it('sends the held acknowledgment on the reporter thread and meets the acknowledge deadline once sent', () => {
    const db = migratedDb(clock);
    report(db);
    const held = report(db);
    const caseId = held.result.caseId!;
    const deadline = () =>
      db.prepare("SELECT state FROM deadlines WHERE case_id = ? AND kind = 'acknowledge'").get(caseId) as {
        state: string;
      };
    expect(deadline()).toEqual({ state: 'cancelled' });
    command(db, `Re: [${caseId}] report /ack`);
    expect(confirmation(db).outcomes).toEqual([expect.objectContaining({ text: '/ack', applied: true })]);
    const sent = acks(db).filter((a) => a.case_id === caseId);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.in_reply_to).toBe(`burst-${n}@x`);
    const row = loadOutbox(db, sent[0]!.id)!;
    expect(row.payload).toMatchObject({ template: 'acknowledgment', autoSubmitted: 'auto-replied' });
    expect(row.recipients).toEqual(['reporter1@psirt.test']);
    expect(showCase(db, caseId)?.acknowledgment).toMatchObject({ state: 'mailed', byCommand: true });
    expect(deadline()).toEqual({ state: 'open' });
    markSent(db, clock, row, '250 ok');
    expect(deadline()).toEqual({ state: 'met' });
  });

  it('refuses /ack when the reporter was already acknowledged, and a second /ack sends nothing more', () => {
    const db = migratedDb(clock);
    report(db);
    command(db, 'Re: [SEC-2026-0001] report /ack');
    expect(confirmation(db).outcomes[0]).toMatchObject({
      applied: false,
      detail: 'the reporter was acknowledged already',
    });
    const held = report(db);
    command(db, `Re: [${held.result.caseId!}] report /ack /ack`);
    expect(confirmation(db).outcomes.map((o) => o.applied)).toEqual([true, false]);
    expect(acks(db)).toHaveLength(2);
  });

  it('is governed by the RACI matrix: a developer may not send it', () => {
    const db = migratedDb(clock);
    report(db);
    const held = report(db);
    command(db, `Re: [${held.result.caseId!}] report /ack`, 'bob');
    expect(confirmation(db).outcomes[0]).toMatchObject({ applied: false });
    expect(confirmation(db).outcomes[0]!.detail).toContain('Communication with the reporter');
    expect(acks(db)).toHaveLength(1);
  });
});
