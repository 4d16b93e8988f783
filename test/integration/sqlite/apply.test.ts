import { describe, expect, it } from 'vitest';
import { applyMessage } from '../../../src/7-cases/apply.js';
import type { Db } from '../../../src/7-cases/db.js';
import { verifyEventChain } from '../../../src/7-cases/events.js';
import { loadCaseRow } from '../../../src/7-cases/deadline-store.js';
import { openedState, toState } from '../../../src/7-cases/rules/case-row.js';
import type { DecodedMessage } from '../../../src/2-decode/types.js';
import { buildDecoded } from '../../support/builders.js';
import { migratedDb } from '../../support/db.js';
import { ingestHarness } from '../../support/ingest.js';
import { loadRaw, readStoredRaw } from '../../../src/7-cases/intake-store.js';
import { openSubject } from '../../../src/7-cases/sealed-subject.js';
import { PROTECTED_SUBJECT } from '../../../src/7-cases/subject.js';

const { clock, deps, ingest, vault } = ingestHarness();

const outbox = (db: Db) =>
  db.prepare('SELECT kind, recipients, in_reply_to, subject, message_id FROM outbox ORDER BY id').all() as {
    kind: string;
    recipients: string;
    in_reply_to: string | null;
    subject: string;
    message_id: string;
  }[];

const DECRYPTED = {
  state: 'decrypted',
  format: 'pgp-mime',
  keyIds: [],
  teamKeyFingerprint: 'F'.repeat(40),
} as const satisfies DecodedMessage['encryption'];
const encryptedReport = (over: Partial<DecodedMessage> = {}) =>
  buildDecoded({ messageId: 'enc@x', encryption: DECRYPTED, ...over });

describe('applyMessage() at rest (#13)', () => {
  const sealedOf = (db: Db, id: string) =>
    db.prepare('SELECT subject, subject_sealed FROM cases WHERE id = ?').get(id) as {
      subject: string;
      subject_sealed: Buffer;
    };

  it('writes only PROTECTED_SUBJECT in clear for a report sent in clear, its subject sealed as not protected', () => {
    const db = migratedDb(clock);
    const { result } = ingest(db, buildDecoded({ messageId: 'clear@x', subject: 'CANARY-c1 XSS' }));
    const row = sealedOf(db, result.caseId!);
    expect(row.subject).toBe(PROTECTED_SUBJECT);
    expect(openSubject(vault, row.subject_sealed)).toEqual({ subject: 'CANARY-c1 XSS', protected: false });
    const clear = JSON.stringify([
      db.prepare('SELECT * FROM cases').all(),
      db.prepare('SELECT subject, payload FROM outbox').all(),
      db.prepare('SELECT data FROM events').all(),
    ]);
    expect(clear).not.toContain('CANARY-c1');
  });

  it('seals the subject of an encrypted report as protected', () => {
    const db = migratedDb(clock);
    const { result } = ingest(db, encryptedReport({ subject: 'CANARY-e1 RCE' }));
    const row = sealedOf(db, result.caseId!);
    expect(row.subject).toBe(PROTECTED_SUBJECT);
    expect(openSubject(vault, row.subject_sealed)).toEqual({ subject: 'CANARY-e1 RCE', protected: true });
  });

  it('stores the raw mail sealed: its bytes are not in the row, the vault opens them', async () => {
    const db = migratedDb(clock);
    const { rowId } = ingest(db, buildDecoded({ messageId: 'raw-canary-r9@x' }));
    const { raw } = loadRaw(db, rowId);
    expect(raw!.includes('raw-canary-r9')).toBe(false);
    expect(raw!.subarray(0, 4).toString('latin1')).toBe('PSL1');
    const opened = await readStoredRaw(db, vault, rowId, 1 << 20);
    expect(opened!.toString('latin1')).toContain('raw-canary-r9');
  });
});

describe('applyMessage()', () => {
  it('plans a new case from the state the table gives a new row (openedState mirrors the column defaults)', () => {
    const db = migratedDb(clock);
    const { result } = ingest(db, buildDecoded({ messageId: 'defaults@x' }));
    const id = result.caseId!;
    const row = loadCaseRow(db, id)!;
    expect(toState(row)).toEqual(openedState(id, row.reporter_address));
  });

  it.each([
    [
      'encrypted with protected headers',
      {
        subject: 'CANARY-7f3a RCE in updater',
        outerSubject: '...',
        protectedHeaders: {
          subject: 'CANARY-7f3a RCE in updater',
          messageId: null,
          encrypted: true,
          signed: false,
        },
      },
    ],
    [
      'encrypted (inline PGP, subject in clear)',
      {
        subject: 'CANARY-7f3a RCE in updater',
        outerSubject: 'CANARY-7f3a RCE in updater',
        protectedHeaders: null,
      },
    ],
  ])('keeps the subject of a report %s out of every clear column (decision 0005)', (_n, over) => {
    const db = migratedDb(clock);
    ingest(db, encryptedReport(over));
    const dump = JSON.stringify([
      db.prepare('SELECT * FROM cases').all(),
      db.prepare('SELECT * FROM outbox').all(),
      db.prepare('SELECT * FROM events').all(),
    ]);
    expect(dump).not.toContain('CANARY-7f3a');
    expect(outbox(db).find((r) => r.kind === 'acknowledgment')?.subject).toBe('Re: [SEC-2026-0001] ...');
    expect(outbox(db).find((r) => r.kind === 'staff-notification')?.subject).toBe(
      '[SEC-2026-0001] New report: ...',
    );
  });

  it('keeps a clear follow-up subject out of clear columns on a protected case', () => {
    const db = migratedDb(clock);
    ingest(db, encryptedReport());
    ingest(
      db,
      buildDecoded({
        messageId: 'f@x',
        inReplyTo: 'enc@x',
        references: ['enc@x'],
        subject: 'Re: CANARY-7f3a more',
      }),
    );
    expect(JSON.stringify(db.prepare('SELECT subject FROM outbox').all())).not.toContain('CANARY-7f3a');
  });

  it('opens SEC-<year>-0001 with one acknowledgment and one notification to all staff (they all have keys; #16)', () => {
    const db = migratedDb(clock);
    const { result, rowId } = ingest(db, buildDecoded({ messageId: 'r1@x' }));
    expect(result.caseId).toBe('SEC-2026-0001');
    const rows = outbox(db);
    expect(rows.filter((r) => r.kind === 'acknowledgment')).toEqual([
      expect.objectContaining({
        recipients: '["reporter1@psirt.test"]',
        in_reply_to: 'r1@x',
        // Neutral at rest (#13): the mailer fills in the real subject from the sealed one.
        subject: 'Re: [SEC-2026-0001] ...',
      }),
    ]);
    const notes = db
      .prepare("SELECT recipients, dedupe_key FROM outbox WHERE kind = 'staff-notification'")
      .all();
    expect(notes).toEqual([
      {
        recipients: '["alice@psirt.test","bob@psirt.test","carol@psirt.test"]',
        dedupe_key: `notify:${String(rowId)}:keyed`,
      },
    ]);
    expect(verifyEventChain(db).ok).toBe(true);
  });

  it('is idempotent: applying the same stored message twice writes nothing new', () => {
    const db = migratedDb(clock);
    const { rowId, classification } = ingest(db, buildDecoded({ messageId: 'r1@x' }));
    const before = outbox(db).length;
    const again = applyMessage(deps(db), {
      messageRowId: rowId,
      decoded: buildDecoded({ messageId: 'r1@x' }),
      fallback: { sender: null, messageId: null },
      classification,
      flags: [],
    });
    expect(again.caseId).toBe('SEC-2026-0001');
    expect(outbox(db)).toHaveLength(before);
    expect((db.prepare('SELECT count(*) AS n FROM cases').get() as { n: number }).n).toBe(1);
  });

  it('makes one case when the same Message-ID arrives twice', () => {
    const db = migratedDb(clock);
    ingest(db, buildDecoded({ messageId: 'same@x' }));
    const second = ingest(db, buildDecoded({ messageId: 'same@x' }));
    expect(second.classification.kind).toBe('duplicate');
    expect((db.prepare('SELECT count(*) AS n FROM cases').get() as { n: number }).n).toBe(1);
    expect(outbox(db).filter((r) => r.kind === 'acknowledgment')).toHaveLength(1);
  });

  it('joins a reply to our acknowledgment (by References only) to its case without acknowledging again', () => {
    const db = migratedDb(clock);
    ingest(db, buildDecoded({ messageId: 'r1@x' }));
    const ack = outbox(db).find((r) => r.kind === 'acknowledgment')?.message_id ?? '';
    const reply = ingest(db, buildDecoded({ messageId: 'r2@x', references: [ack], subject: 'more details' }));
    expect(reply.classification).toEqual({
      kind: 'follow-up',
      caseId: 'SEC-2026-0001',
      matchedBy: 'references',
    });
    expect(outbox(db).filter((r) => r.kind === 'acknowledgment')).toHaveLength(1);
    // One notification to the group (#16) for the report, one for the follow-up.
    expect(outbox(db).filter((r) => r.kind === 'staff-notification')).toHaveLength(2);
  });

  it('opens a new case linked to the old one when a stranger quotes its tag', () => {
    const db = migratedDb(clock);
    ingest(db, buildDecoded({ messageId: 'r1@x' }));
    const { result } = ingest(
      db,
      buildDecoded({
        messageId: 'm1@x',
        from: { address: 'mallory@psirt.test', name: null },
        subject: 'Re: [SEC-2026-0001] XSS',
      }),
    );
    expect(result.caseId).toBe('SEC-2026-0002');
    expect(db.prepare('SELECT case_id, other_id, kind FROM case_links').all()).toEqual([
      { case_id: 'SEC-2026-0002', other_id: 'SEC-2026-0001', kind: 'quoted-tag' },
    ]);
  });

  it('never acknowledges automated mail, and links a bounce to the outbox row it is about', () => {
    const db = migratedDb(clock);
    ingest(db, buildDecoded({ messageId: 'r1@x' }));
    const ack = outbox(db).find((r) => r.kind === 'acknowledgment')?.message_id ?? '';
    const bounce = ingest(
      db,
      buildDecoded({
        messageId: 'dsn@mta',
        from: { address: 'mailer-daemon@psirt.test', name: null },
        headers: { returnPath: '', contentType: 'multipart/report; report-type=delivery-status' },
        delivery: {
          originalMessageId: ack,
          action: 'failed',
          status: '5.1.1',
          recipient: 'reporter1@psirt.test',
        },
      }),
    );
    expect(bounce.result.caseId).toBe('SEC-2026-0001');
    // The report's acknowledgment and its one staff notification (#16: one row to the three
    // keyed staff); the bounce added none.
    expect(outbox(db).map((r) => r.kind)).toEqual(['acknowledgment', 'staff-notification']);
    expect(
      db.prepare("SELECT data ->> '$.status' AS status FROM events WHERE type = 'outbox.bounced'").get(),
    ).toEqual({ status: '5.1.1' });
  });

  it('pins the first key of a reporter and records a different later key as changed, flagging the case', () => {
    const db = migratedDb(clock);
    const key = (fingerprint: string) => ({
      fingerprint,
      armored: 'x',
      source: 'attachment' as const,
      addresses: ['reporter1@psirt.test'],
    });
    ingest(db, buildDecoded({ messageId: 'k1@x', keys: [key('AAAA')] }));
    ingest(db, buildDecoded({ messageId: 'k2@x', subject: 'Re: [SEC-2026-0001] x', keys: [key('BBBB')] }));
    expect(db.prepare('SELECT fingerprint, status FROM reporter_keys ORDER BY id').all()).toEqual([
      { fingerprint: 'AAAA', status: 'pinned' },
      { fingerprint: 'BBBB', status: 'changed' },
    ]);
    expect(
      JSON.parse(
        (db.prepare("SELECT flags FROM cases WHERE id = 'SEC-2026-0001'").get() as { flags: string }).flags,
      ),
    ).toContain('key-changed');
  });

  it('quarantines an undecryptable report but still opens a flagged case and acknowledges it', () => {
    const db = migratedDb(clock);
    const { result } = ingest(
      db,
      buildDecoded({
        messageId: 'enc@x',
        encryption: { state: 'failed', format: 'pgp-mime', keyIds: ['1'], reason: 'no-matching-key' },
      }),
      ['undecryptable'],
    );
    expect(result.quarantine).toBe(true);
    expect(db.prepare('SELECT flags FROM cases').get()).toEqual({ flags: '["undecryptable"]' });
    expect(outbox(db).filter((r) => r.kind === 'acknowledgment')).toHaveLength(1);
    expect(db.prepare('SELECT failure FROM messages').get()).toEqual({ failure: 'undecryptable' });
  });
});
