import { describe, expect, it } from 'vitest';
import type { Db } from '../../../src/7-cases/db.js';
import { verifyEventChain } from '../../../src/7-cases/events.js';
import { loadOutbox, markSent } from '../../../src/7-cases/outbox-store.js';
import type { DecodedMessage } from '../../../src/2-decode/types.js';
import { buildDecoded, buildSignedStaffMail } from '../../support/builders.js';
import { migratedDb } from '../../support/db.js';
import { ingestHarness } from '../../support/ingest.js';

const { clock, config, ingest } = ingestHarness();
const staffMember = (local: string) => config.staff.find((s) => s.address === `${local}@psirt.test`)!;
const CVSS = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
let n = 0;

/** A mail from a staff member, signed by their configured key unless `signature` says otherwise. */
function staffMail(
  local: string,
  subject: string,
  over: Partial<DecodedMessage> & { signedAt?: string } = {},
): DecodedMessage {
  n += 1;
  const { signedAt, ...rest } = over;
  return buildSignedStaffMail(
    staffMember(local),
    subject,
    {
      from: { address: `${local}@psirt.test`, name: local },
      text: 'Internal: looks real.\n\nOn Mon, Jane wrote:\n> SECRET-REPORT-DETAIL\n',
      ...rest,
    },
    {
      messageId: `staff-${n}@psirt.test`,
      signedAt: signedAt ?? clock.now().toISOString(),
      digest: `${n}`.padStart(64, '0'),
    },
  );
}

const kase = (db: Db, id = 'SEC-2026-0001') =>
  db.prepare('SELECT stage, resolution, severity, cvss_score, assignee FROM cases WHERE id = ?').get(id) as {
    stage: string;
    resolution: string | null;
    severity: string | null;
    cvss_score: number | null;
    assignee: string | null;
  };
const mails = (db: Db, kind?: string) =>
  (
    db
      .prepare(
        `SELECT kind, recipients, in_reply_to, refs, subject, payload FROM outbox ${kind ? 'WHERE kind = ?' : ''} ORDER BY id`,
      )
      .all(...(kind ? [kind] : [])) as {
      kind: string;
      recipients: string;
      in_reply_to: string | null;
      refs: string;
      subject: string;
      payload: string;
    }[]
  ).map((r) => ({
    ...r,
    recipients: JSON.parse(r.recipients) as string[],
    payload: JSON.parse(r.payload) as Record<string, unknown>,
  }));
const toReporter = (db: Db) =>
  mails(db).filter((m) => m.recipients.includes('reporter1@psirt.test') && m.kind !== 'acknowledgment');
const deadline = (db: Db, kind: string) =>
  db
    .prepare('SELECT due_at, state FROM deadlines WHERE case_id = ? AND kind = ?')
    .get('SEC-2026-0001', kind) as { due_at: string; state: string } | undefined;

function withCase(): Db {
  const db = migratedDb(clock);
  ingest(db, buildDecoded({ messageId: 'r1@x' }));
  return db;
}

describe('staff commands through applyMessage()', () => {
  it("applies alice's signed /assign bob /cvss: 9.8 critical, the critical fix deadline, events naming her key", () => {
    const db = withCase();
    ingest(db, staffMail('alice', `Re: [SEC-2026-0001] XSS /assign bob /cvss ${CVSS}`));
    expect(kase(db)).toEqual({
      stage: 'triage',
      resolution: null,
      severity: 'critical',
      cvss_score: 9.8,
      assignee: 'bob@psirt.test',
    });
    // test profile: critical = 1200 seconds from the report.
    expect(deadline(db, 'fix')).toEqual({ due_at: '2026-11-24T12:20:00.000Z', state: 'open' });
    const events = db
      .prepare("SELECT type, actor, auth, message_id FROM events WHERE actor LIKE 'staff:%' ORDER BY id")
      .all() as { type: string; actor: string; auth: string; message_id: string }[];
    expect(events.map((e) => e.type)).toEqual([
      'case.assigned',
      'case.severity-set',
      'case.stage-changed',
      'case.note',
    ]);
    for (const e of events) {
      expect(e).toMatchObject({
        actor: 'staff:alice@psirt.test',
        auth: `pgp:${staffMember('alice').fingerprint!}`,
      });
      expect(e.message_id).toMatch(/^staff-\d+@psirt\.test$/);
    }
    const [confirmation] = mails(db, 'command-confirmation');
    expect(confirmation).toMatchObject({
      recipients: ['alice@psirt.test'],
      // Neutral at rest (#13): the mailer fills in the real subject from the sealed one.
      subject: 'Re: [SEC-2026-0001] ...',
    });
    expect(confirmation!.in_reply_to).toMatch(/^staff-\d+@psirt\.test$/);
    expect(mails(db, 'assignment').map((m) => m.recipients)).toEqual([['bob@psirt.test']]);
    expect(toReporter(db)).toEqual([]);
    expect(verifyEventChain(db).ok).toBe(true);
  });

  it.each([
    ['unsigned', { signature: { state: 'none' } }],
    [
      'signed by an unrelated key',
      { signature: { state: 'unknown-key', keyId: '0123456789ABCDEF', format: 'pgp-mime' } },
    ],
    [
      'signed by a key carried in the mail itself (not the configured one)',
      {
        signature: {
          state: 'valid',
          fingerprint: 'B'.repeat(40),
          keyId: 'B'.repeat(16),
          createdAt: '2026-11-24T12:00:00.000Z',
          digest: 'f'.repeat(64),
          format: 'pgp-mime',
        },
      },
    ],
    [
      'with a forged Reply-To',
      { signature: { state: 'none' }, replyTo: [{ address: 'mallory@psirt.test', name: null }] },
    ],
    [
      'with Authentication-Results from an untrusted authserv-id',
      {
        signature: { state: 'none' },
        headers: {
          ...buildDecoded().headers,
          authenticationResults: ['evil.example; dkim=pass header.d=psirt.test'],
        },
      },
    ],
    ['signed 4 days ago', { signedAt: '2026-11-20T12:00:00.000Z' }],
  ] as [string, Partial<DecodedMessage> & { signedAt?: string }][])(
    "changes nothing for a mail %s; only alice's configured address is told",
    (_name, over) => {
      const db = withCase();
      const before = kase(db);
      ingest(
        db,
        staffMail('alice', `Re: [SEC-2026-0001] /assign bob /cvss ${CVSS} /reply /close spam`, over),
      );
      expect(kase(db)).toEqual(before);
      const rejected = mails(db, 'command-rejected');
      expect(rejected).toHaveLength(1);
      expect(rejected[0]!.recipients).toEqual(['alice@psirt.test']);
      expect(mails(db).some((m) => m.recipients.includes('mallory@psirt.test'))).toBe(false);
      expect(toReporter(db)).toEqual([]);
      expect(mails(db, 'command-confirmation')).toEqual([]);
      expect(db.prepare("SELECT actor FROM events WHERE type = 'staff.unauthenticated'").get()).toEqual({
        actor: 'unverified:alice@psirt.test',
      });
    },
  );

  it('refuses a signature used before, even under a new Message-ID and subject', () => {
    const db = withCase();
    const first = staffMail('alice', 'Re: [SEC-2026-0001] /tag firmware');
    ingest(db, first);
    // The captured mail resent under a fresh Message-ID (its protected headers carry none).
    ingest(db, {
      ...first,
      messageId: 'replayed@evil',
      outerSubject: 'Re: [SEC-2026-0001] ...',
      protectedHeaders: { ...first.protectedHeaders!, messageId: null },
    });
    expect(kase(db).stage).toBe('triage');
    expect(db.prepare("SELECT count(*) AS n FROM events WHERE type = 'staff.replay'").get()).toEqual({
      n: 1,
    });
    const [notice] = mails(db, 'command-rejected');
    expect(notice!.subject).toBe('[SEC-2026-0001] Commands NOT applied: a signature used before (replay)');
    expect(notice!.payload).toMatchObject({ replay: true });
  });

  it.each([
    ['other commands in the outer Subject', { outerSubject: 'Re: [SEC-2026-0001] /close spam' }],
    ['a /reply added to the outer Subject', { outerSubject: 'Re: [SEC-2026-0001] /tag firmware /reply' }],
    ['a fresh outer Message-ID', { messageId: 'fresh@relay.example' }],
  ])(
    'refuses a signed mail changed after signing (%s): nothing changes, the member is told',
    (_n, change) => {
      const db = withCase();
      const genuine = staffMail('alice', 'Re: [SEC-2026-0001] /tag firmware');
      const before = mails(db).length;
      ingest(db, { ...genuine, ...change });
      const tags = () => (db.prepare('SELECT tags FROM cases').get() as { tags: string }).tags;
      expect(kase(db).stage).toBe('received');
      expect(tags()).toBe('[]');
      expect(db.prepare("SELECT data FROM events WHERE type = 'staff.tampered'").all()).toHaveLength(1);
      const [notice] = mails(db, 'command-rejected');
      expect(notice).toMatchObject({
        recipients: ['alice@psirt.test'],
        subject: '[SEC-2026-0001] Commands NOT applied: the subject or Message-ID was changed after signing',
      });
      expect(notice!.payload).toMatchObject({
        tampered: true,
        reason: expect.stringMatching(/after signing/),
      });
      expect(mails(db).length).toBe(before + 1);
      expect(toReporter(db)).toEqual([]);
      // The altered copy did not use up the signature: the genuine mail still applies.
      ingest(db, {
        ...genuine,
        messageId: `genuine-${Math.random()}@staff.test`,
        protectedHeaders: { ...genuine.protectedHeaders!, messageId: null },
      });
      expect(tags()).toBe('["firmware"]');
    },
  );

  it('tells the member of a tampered mail even when their signed subject carried no commands (#10 review)', () => {
    const db = withCase();
    const genuine = staffMail('alice', 'Re: [SEC-2026-0001] thanks');
    ingest(db, { ...genuine, outerSubject: 'Re: [SEC-2026-0001] thanks /close spam' });
    expect(kase(db).stage).toBe('received');
    expect(db.prepare("SELECT data FROM events WHERE type = 'staff.tampered'").all()).toHaveLength(1);
    expect(mails(db, 'command-rejected')).toEqual([
      expect.objectContaining({ recipients: ['alice@psirt.test'] }),
    ]);
  });

  it.each(['alice', 'carol'])(
    "%s's reply to the one notification all staff got is matched to its case by In-Reply-To (#16)",
    (who) => {
      const db = withCase();
      const note = db
        .prepare("SELECT message_id, recipients FROM outbox WHERE kind = 'staff-notification'")
        .all() as { message_id: string; recipients: string }[];
      expect(note.map((r) => r.recipients)).toEqual([
        '["alice@psirt.test","bob@psirt.test","carol@psirt.test"]',
      ]);
      const id = note[0]!.message_id;
      // No tag in the subject: only the thread headers name the case.
      const { rowId, classification } = ingest(
        db,
        staffMail(who, 'Re: noted, looking at it', { inReplyTo: id, references: [id] }),
      );
      expect(classification).toMatchObject({
        kind: 'staff',
        caseId: 'SEC-2026-0001',
        matchedBy: 'in-reply-to',
      });
      expect(db.prepare('SELECT case_id FROM messages WHERE id = ?').get(rowId)).toEqual({
        case_id: 'SEC-2026-0001',
      });
      // With the tag, the member's commands apply to the case the notification is about.
      ingest(db, staffMail(who, 'Re: [SEC-2026-0001] /assign bob', { inReplyTo: id, references: [id] }));
      expect(kase(db).assignee).toBe('bob@psirt.test');
    },
  );

  it('does not apply signed commands to the case an unsigned In-Reply-To names when the signed subject names none (#10 review)', () => {
    const db = withCase();
    const notice = db
      .prepare("SELECT message_id FROM outbox WHERE kind = 'staff-notification' ORDER BY id LIMIT 1")
      .get() as { message_id: string };
    ingest(db, {
      ...staffMail('alice', 'Re: looks bogus /close spam'),
      outerSubject: 'Re: [SEC-2026-0001] ...',
      inReplyTo: notice.message_id,
      references: [notice.message_id],
    });
    expect(kase(db)).toMatchObject({ stage: 'received' });
    expect(mails(db, 'command-confirmation')[0]!.payload.outcomes).toEqual([
      {
        text: '/close',
        applied: false,
        detail: 'no case: reply to a case mail and keep the [case id] tag in the subject',
      },
    ]);
  });

  it('changes nothing when the same signed mail is delivered again', () => {
    const db = withCase();
    const mail = staffMail('alice', 'Re: [SEC-2026-0001] /tag firmware');
    ingest(db, mail);
    const count = mails(db).length;
    const again = ingest(db, mail);
    expect(again.classification.kind).toBe('duplicate');
    expect(mails(db)).toHaveLength(count);
  });

  it('rejects a command outside the RACI role and an illegal transition, and confirms both', () => {
    const db = withCase();
    ingest(db, staffMail('bob', `Re: [SEC-2026-0001] /cvss ${CVSS} /fixed`));
    expect(kase(db)).toMatchObject({ stage: 'received', severity: null });
    const outcomes = mails(db, 'command-confirmation')[0]!.payload.outcomes as {
      detail: string;
      applied: boolean;
    }[];
    expect(outcomes.map((o) => o.applied)).toEqual([false, false]);
    expect(outcomes[0]!.detail).toMatch(/needs the role security or manager/);
    expect(outcomes[1]!.detail).toMatch(/fixed is possible only from fixing/);
    expect(db.prepare("SELECT count(*) AS n FROM events WHERE type = 'command.rejected'").get()).toEqual({
      n: 2,
    });
  });

  it('relays /reply to the reporter on their thread; without /reply nothing reaches them', () => {
    const db = withCase();
    ingest(db, staffMail('alice', 'Re: [SEC-2026-0001] internal only'));
    expect(toReporter(db)).toEqual([]);
    ingest(db, staffMail('alice', 'Re: [SEC-2026-0001] /reply'));
    const [reply] = toReporter(db);
    const ack = mails(db, 'acknowledgment')[0]!;
    const ackId = (
      db.prepare("SELECT message_id FROM outbox WHERE kind = 'acknowledgment'").get() as {
        message_id: string;
      }
    ).message_id;
    expect(reply).toMatchObject({
      kind: 'reporter-reply',
      in_reply_to: ackId,
      refs: `r1@x ${ackId}`,
      subject: ack.subject,
    });
    expect(reply!.payload).toMatchObject({ template: 'reporter-reply', autoSubmitted: 'no' });
    // The payload keeps no text: the mailer decodes the stored mail again.
    expect(JSON.stringify(reply!.payload)).not.toContain('looks real');
  });

  it('/close duplicate-style: /duplicate closes, links, stops the deadlines and mails the duplicate text', () => {
    const db = withCase();
    ingest(db, buildDecoded({ messageId: 'r2@x', from: { address: 'reporter2@psirt.test', name: null } }));
    ingest(db, staffMail('carol', 'Re: [SEC-2026-0002] /duplicate SEC-2026-0001'));
    expect(kase(db, 'SEC-2026-0002')).toMatchObject({ stage: 'closed', resolution: 'duplicate' });
    const open = db
      .prepare("SELECT kind FROM deadlines WHERE case_id = 'SEC-2026-0002' AND state = 'open'")
      .all();
    expect(open).toEqual([]);
    const status = mails(db, 'reporter-status');
    expect(status).toHaveLength(1);
    expect(status[0]).toMatchObject({ recipients: ['reporter2@psirt.test'] });
    expect(status[0]!.payload).toMatchObject({
      statusEvent: 'closed-duplicate',
      snapshot: { duplicateOf: 'SEC-2026-0001' },
    });
  });

  it('/close duplicate stops every open deadline of the case', () => {
    const db = withCase();
    ingest(db, staffMail('alice', `Re: [SEC-2026-0001] /cvss ${CVSS}`));
    expect(deadline(db, 'fix')?.state).toBe('open');
    ingest(db, staffMail('alice', 'Re: [SEC-2026-0001] /close duplicate'));
    const states = db
      .prepare("SELECT kind, state FROM deadlines WHERE case_id = 'SEC-2026-0001' ORDER BY kind")
      .all();
    expect(states).toEqual([
      { kind: 'acknowledge', state: 'cancelled' },
      { kind: 'fix', state: 'cancelled' },
      { kind: 'triage', state: 'cancelled' },
      { kind: 'verify', state: 'cancelled' },
    ]);
    expect(mails(db, 'reporter-status').map((m) => m.payload.statusEvent)).toEqual(['closed-duplicate']);
  });

  it('limits "not authenticated" notices per staff member per hour', () => {
    const db = withCase();
    for (let i = 0; i < config.commands.max_rejections_per_hour + 3; i++) {
      ingest(db, staffMail('alice', 'Re: [SEC-2026-0001] /close spam', { signature: { state: 'none' } }));
    }
    expect(mails(db, 'command-rejected')).toHaveLength(config.commands.max_rejections_per_hour);
    expect(kase(db).stage).toBe('received');
  });

  it('records an unsigned staff mail without commands and sends nothing', () => {
    const db = withCase();
    const count = mails(db).length;
    ingest(db, staffMail('alice', 'Re: [SEC-2026-0001] thanks', { signature: { state: 'none' } }));
    expect(mails(db)).toHaveLength(count);
  });

  it('resumes a paused case when the reporter replies', () => {
    const db = withCase();
    ingest(db, staffMail('alice', 'Re: [SEC-2026-0001] /pause'));
    expect(db.prepare('SELECT waiting_on_reporter AS w FROM cases').get()).toEqual({ w: 1 });
    ingest(db, buildDecoded({ messageId: 'r1-followup@x', inReplyTo: 'r1@x', references: ['r1@x'] }));
    expect(db.prepare('SELECT waiting_on_reporter AS w FROM cases').get()).toEqual({ w: 0 });
  });

  it('answers a command mail that names no case with the reason', () => {
    const db = withCase();
    ingest(db, staffMail('alice', 'question /help /triage'));
    const [c] = mails(db, 'command-confirmation');
    expect(c!.payload.outcomes).toEqual([
      {
        text: '/triage',
        applied: false,
        detail: 'no case: reply to a case mail and keep the [case id] tag in the subject',
      },
      { text: '/help', applied: true, detail: 'the command list is below' },
    ]);
    // Signed with protected headers: its subject is not repeated in clear (decision 0005).
    expect(c!.subject).toBe('Re: ...');
  });

  it('does not run commands a reporter planted in their subject when staff reply to the notification', () => {
    const db = migratedDb(clock);
    ingest(db, buildDecoded({ messageId: 'planted@x', subject: 'Upload bypass /reply /close invalid' }));
    const notification = mails(db, 'staff-notification').find((m) =>
      m.recipients.includes('alice@psirt.test'),
    )!;
    expect(notification.subject).not.toMatch(/(^|\s)\/(reply|close)/);
    ingest(db, staffMail('alice', `Re: ${notification.subject}`));
    expect(kase(db)).toMatchObject({ stage: 'received', resolution: null });
    expect(toReporter(db)).toEqual([]);
  });

  it('applies nothing when the subject tag and the thread headers name different cases', () => {
    const db = withCase();
    ingest(db, buildDecoded({ messageId: 'r2@x', from: { address: 'reporter2@psirt.test', name: null } }));
    const ackOf1 = (
      db
        .prepare("SELECT message_id FROM outbox WHERE case_id = 'SEC-2026-0001' AND kind = 'acknowledgment'")
        .get() as { message_id: string }
    ).message_id;
    ingest(
      db,
      staffMail('alice', 'Re: [SEC-2026-0002] /close invalid', { inReplyTo: ackOf1, references: [ackOf1] }),
    );
    expect(kase(db, 'SEC-2026-0001').stage).toBe('received');
    expect(kase(db, 'SEC-2026-0002').stage).toBe('received');
    const [c] = mails(db, 'command-confirmation');
    expect((c!.payload.outcomes as { detail: string }[])[0]!.detail).toMatch(
      /^the subject names SEC-2026-0002 but the mail replies to the thread of SEC-2026-0001: nothing applied/,
    );
  });

  it('meets the acknowledge deadline when a /reply reaches the reporter', () => {
    const db = withCase();
    ingest(db, staffMail('alice', 'Re: [SEC-2026-0001] /reply'));
    const reply = loadOutbox(
      db,
      (db.prepare("SELECT id FROM outbox WHERE kind = 'reporter-reply'").get() as { id: number }).id,
    )!;
    markSent(db, clock, reply, '250 ok');
    expect(deadline(db, 'acknowledge')).toMatchObject({ state: 'met' });
  });

  it("never acts on or answers a staff address's auto-reply, even signed and carrying commands", () => {
    const db = withCase();
    const count = mails(db).length;
    const vacation = staffMail('alice', 'Re: [SEC-2026-0001] Out of office /close spam /reply', {
      headers: { ...buildDecoded().headers, autoSubmitted: 'auto-replied' },
    });
    expect(ingest(db, vacation).classification.kind).toBe('automated');
    expect(kase(db)).toMatchObject({ stage: 'received', resolution: null });
    expect(mails(db)).toHaveLength(count);
  });
});
