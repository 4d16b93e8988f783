import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../../src/7-cases/db.js';
import { verifyCaseChains } from '../../../src/7-cases/events.js';
import { readEvidencePeriod } from '../../../src/7-cases/evidence-store.js';
import { storeRaw } from '../../../src/7-cases/intake-store.js';
import { openSubject } from '../../../src/7-cases/sealed-subject.js';
import { preparePurgeConnection } from '../../../src/7-cases/retention-store.js';
import { verifyProblems, verifyRecord } from '../../../src/cli/verify.js';
import type { Config } from '../../../src/config/schema.js';
import { fixedClock } from '../../../src/core/clock.js';
import { createLogger } from '../../../src/core/log.js';
import { retentionPlanAt, runRetention, spoolDirOf } from '../../../src/roles/retention.js';
import { buildDecoded, buildSignedStaffMail } from '../../support/builders.js';
import { caseEvents } from '../../support/chain-cases.js';
import { migratedDb, tempDbPath } from '../../support/db.js';
import { ingestHarness } from '../../support/ingest.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const log = createLogger('silent');

/**
 * Five cases made by the real classify + apply path and closed (or held) by signed staff
 * commands at the given times; each report carries its own canary in its raw bytes, Message-ID
 * and subject (so in messages, cases and the staff notifications of the outbox).
 */
function seeded() {
  const h = ingestHarness({ at: '2023-11-01T10:00:00Z' });
  const path = tempDbPath();
  const db = migratedDb(h.clock, path);
  const config: Config = { ...h.config, database: { path } };
  let n = 0;
  const staff = (subject: string) => {
    n += 1;
    const alice = h.config.staff.find((s) => s.address === 'alice@psirt.test')!;
    return buildSignedStaffMail(
      alice,
      subject,
      { text: 'internal' },
      {
        messageId: `cmd-${n}@psirt.test`,
        signedAt: h.clock.now().toISOString(),
        digest: `${n}`.padStart(64, '0'),
      },
    );
  };
  const report = (canary: string, reporter: string): string => {
    n += 1;
    const { rowId, result } = h.ingest(
      db,
      buildDecoded({
        messageId: `report-${n}@reporter.test`,
        from: { address: reporter, name: `Name ${canary}` },
        subject: `Overflow ${canary}`,
        text: `body ${canary}`,
      }),
    );
    // The bytes as the intake stored them: the canary in subject, body and attachment.
    const raw = [
      `Message-ID: <report-${n}@reporter.test>`,
      `From: ${reporter}`,
      `Subject: Overflow ${canary}`,
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      '',
      `body ${canary}`,
      '--b',
      'Content-Disposition: attachment; filename=poc.txt',
      '',
      `attachment ${canary}`,
      '--b--',
      '',
    ].join('\r\n');
    db.prepare('UPDATE messages SET raw = ?, size = ? WHERE id = ?').run(Buffer.from(raw), raw.length, rowId);
    return result.caseId!;
  };
  const command = (at: string, caseId: string, cmd: string): void => {
    h.clock.set(at);
    h.ingest(db, staff(`Re: [${caseId}] ${cmd}`));
  };
  const ids = {
    old: report('CANARY-OLD-7f3a', 'old@reporter.test'),
    young: report('CANARY-YOUNG-91c2', 'young@reporter.test'),
    held: report('CANARY-HELD-4be0', 'held@reporter.test'),
    open: report('CANARY-OPEN-55d1', 'shared@reporter.test'),
    sharedOld: report('CANARY-SHARED-0a9e', 'shared@reporter.test'),
  };
  command('2023-11-29T12:00:00Z', ids.held, '/close invalid');
  command('2023-11-29T12:05:00Z', ids.held, '/hold "litigation 2023-7"');
  command('2023-11-30T12:00:00Z', ids.old, '/close invalid'); // 3 years + 1 day before NOW
  command('2023-11-30T12:00:00Z', ids.sharedOld, '/close invalid');
  command('2023-12-02T12:00:00Z', ids.young, '/close invalid'); // 3 years − 1 day before NOW
  // Keys pinned for two reporters; one of them still has a live case.
  const firstMessage = (caseId: string) =>
    (
      db.prepare('SELECT id FROM messages WHERE case_id = ? ORDER BY id LIMIT 1').get(caseId) as {
        id: number;
      }
    ).id;
  for (const [address, caseId, fpr] of [
    ['old@reporter.test', ids.old, 'A'.repeat(40)],
    ['shared@reporter.test', ids.sharedOld, 'B'.repeat(40)],
  ] as const)
    db.prepare(
      `INSERT INTO reporter_keys (address, fingerprint, armored, source, first_seen_at, last_seen_at, first_message_id)
       VALUES (?, ?, 'PUBLIC KEY', 'attachment', ?, ?, ?)`,
    ).run(address, fpr, '2023-11-01T10:00:00Z', '2023-11-01T10:00:00Z', firstMessage(caseId));
  // An oversize follow-up of the old case, spooled to a file beside the database.
  const spoolDir = spoolDirOf(config);
  mkdirSync(spoolDir, { recursive: true });
  const spoolRaw = Buffer.from('Subject: more\r\n\r\nCANARY-SPOOL-e1e1 attachment bytes');
  const sha = createHash('sha256').update(spoolRaw).digest('hex');
  const spoolFile = join(spoolDir, `${sha}.eml`);
  writeFileSync(spoolFile, spoolRaw);
  const spooled = storeRaw(db, h.clock, h.vault, {
    mailbox: 'INBOX',
    uidvalidity: '1',
    uid: 9000,
    size: spoolRaw.length,
    raw: null,
    rawPath: spoolFile,
    sha256: sha,
    messageId: 'spooled@reporter.test',
    internalDate: null,
  });
  db.prepare("UPDATE messages SET case_id = ?, state = 'applied' WHERE id = ?").run(ids.old, spooled.rowId);
  preparePurgeConnection(db);
  return { h, db, path, config, ids, spoolFile, spoolSha: sha };
}

const run = (s: ReturnType<typeof seeded>, at = NOW) =>
  runRetention({ db: s.db, config: s.config, calendar: s.h.calendar, clock: fixedClock(at), log });

/** The database file and its WAL as bytes, as a thief with a copy of the folder reads them. */
function fileBytes(path: string): Buffer {
  return Buffer.concat([
    readFileSync(path),
    existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`) : Buffer.alloc(0),
  ]);
}

const caseRow = (db: Db, id: string) =>
  db.prepare('SELECT * FROM cases WHERE id = ?').get(id) as Record<string, unknown>;

describe('runRetention() (#13 records retention)', () => {
  it('purges the case closed 3 years + 1 day ago and keeps the one closed 3 years − 1 day ago, the held and the open one', async () => {
    const s = seeded();
    const result = await run(s);
    expect(result.purgedIds.sort()).toEqual([s.ids.old, s.ids.sharedOld].sort());
    expect(result.heldIds).toEqual([s.ids.held]);
    for (const kept of [s.ids.young, s.ids.held, s.ids.open])
      expect(caseRow(s.db, kept).purged_at).toBeNull();
    // The kept case keeps its content: the subject, sealed at rest (#13), still opens.
    const young = caseRow(s.db, s.ids.young);
    expect(openSubject(s.h.vault, young.subject_sealed as Buffer).subject).toBe('Overflow CANARY-YOUNG-91c2');
  });

  it('keeps a case whose hold the event chain records, even when the row says otherwise (a forged copy)', async () => {
    const s = seeded();
    // What an edited backup would hold: the hold lifted on the row only, no case.hold event.
    s.db.prepare('UPDATE cases SET on_hold = 0, hold_reason = NULL WHERE id = ?').run(s.ids.held);
    const result = await run(s);
    expect(result.purgedIds).not.toContain(s.ids.held);
    expect(result.heldIds).toEqual([s.ids.held]);
    expect(caseRow(s.db, s.ids.held).purged_at).toBeNull();
  });

  it('leaves a tombstone: id, dates, stage and resolution stay; content and addresses go', async () => {
    const s = seeded();
    const before = caseRow(s.db, s.ids.old);
    await run(s);
    const after = caseRow(s.db, s.ids.old);
    expect(after).toMatchObject({
      id: s.ids.old,
      stage: 'closed',
      resolution: 'invalid',
      created_at: before.created_at,
      closed_at: before.closed_at,
      reporter_address: '',
      reporter_name: null,
      subject: '...',
      subject_sealed: null,
      purged_at: NOW.toISOString(),
    });
    const messages = s.db
      .prepare('SELECT raw, raw_path, message_id, sender, purged_at FROM messages WHERE case_id = ?')
      .all(s.ids.old) as {
      raw: Buffer | null;
      raw_path: string | null;
      message_id: string | null;
      sender: string | null;
      purged_at: string | null;
    }[];
    expect(messages.length).toBeGreaterThanOrEqual(3); // report, staff command, spooled follow-up
    for (const m of messages) {
      expect(m.raw?.length).toBe(0);
      expect(m).toMatchObject({
        raw_path: null,
        message_id: null,
        sender: null,
        purged_at: NOW.toISOString(),
      });
    }
    const outbox = s.db
      .prepare(
        'SELECT recipients, subject, payload, in_reply_to, refs, last_error FROM outbox WHERE case_id = ?',
      )
      .all(s.ids.old);
    expect(outbox.length).toBeGreaterThan(0);
    for (const o of outbox)
      expect(o).toEqual({
        recipients: '[]',
        subject: '',
        payload: '{}',
        in_reply_to: null,
        refs: null,
        last_error: null,
      });
    expect(existsSync(s.spoolFile)).toBe(false);
  });

  it("deletes the reporter's keys unless a live case still uses the address", async () => {
    const s = seeded();
    await run(s);
    const keys = (
      s.db.prepare('SELECT address FROM reporter_keys ORDER BY address').all() as { address: string }[]
    ).map((r) => r.address);
    expect(keys).toEqual(['shared@reporter.test']);
  });

  it('appends a final case.purged event with the policy and counts, and psirt verify still passes', async () => {
    const s = seeded();
    await run(s);
    const last = caseEvents(s.db, s.ids.old).at(-1)!;
    expect(last.type).toBe('case.purged');
    expect(JSON.parse(last.data)).toEqual({
      policyYears: 3,
      closedAt: '2023-11-30T12:00:00.000Z',
      keptUntil: '2026-11-30',
      messages: 3,
      outboxRows: expect.any(Number),
      spoolFiles: 1,
      reporterKeys: 1,
    });
    expect(last.data).not.toContain('CANARY');
    expect(verifyCaseChains(s.db).firstBroken).toBeNull();
    expect(verifyProblems(verifyRecord(s.db))).toEqual([]);
  });

  it('purges nothing more on a second run', async () => {
    const s = seeded();
    await run(s);
    const events = (
      s.db.prepare("SELECT count(*) AS n FROM events WHERE type = 'case.purged'").get() as { n: number }
    ).n;
    const second = await run(s, new Date(NOW.getTime() + 3_600_000));
    expect(second).toMatchObject({ purged: 0, messages: 0, outboxRows: 0, spoolFiles: 0 });
    expect(
      (s.db.prepare("SELECT count(*) AS n FROM events WHERE type = 'case.purged'").get() as { n: number }).n,
    ).toBe(events);
  });

  it('purges exactly the set the dry run listed', async () => {
    const s = seeded();
    const plan = retentionPlanAt(s.db, s.config, s.h.calendar, NOW);
    const result = await run(s);
    expect(result.purgedIds).toEqual(plan.due.map((v) => v.id));
    expect(plan.held.map((v) => v.id)).toEqual(result.heldIds);
  });

  it('leaves no purged canary in the database file or its WAL (secure_delete, checkpoint TRUNCATE)', async () => {
    const s = seeded();
    const before = fileBytes(s.path);
    expect(before.includes('CANARY-OLD-7f3a')).toBe(true);
    const result = await run(s);
    expect(result.checkpointBusy).toBe(false);
    const after = fileBytes(s.path);
    expect(after.includes('CANARY-OLD-7f3a')).toBe(false);
    expect(after.includes('CANARY-SHARED-0a9e')).toBe(false);
    // The kept cases are still there: the grep finds what it should.
    expect(after.includes('CANARY-YOUNG-91c2')).toBe(true);
    expect(existsSync(s.spoolFile)).toBe(false);
  });

  it('removes a spool file a crash left behind after the purge committed', async () => {
    const s = seeded();
    await run(s);
    writeFileSync(s.spoolFile, 'CANARY-SPOOL-e1e1'); // as if the unlink after the commit never ran
    writeFileSync(join(dirname(s.spoolFile), `${'f'.repeat(64)}.eml`), 'a live message'); // no purged row
    const second = await run(s, new Date(NOW.getTime() + 3_600_000));
    expect(second.orphanFiles).toBe(1);
    expect(existsSync(s.spoolFile)).toBe(false);
    expect(existsSync(join(dirname(s.spoolFile), `${'f'.repeat(64)}.eml`))).toBe(true);
  });

  it('records the run as a service-wide event with counts only', async () => {
    const s = seeded();
    await run(s);
    const ran = s.db.prepare("SELECT case_id, data FROM events WHERE type = 'retention.ran'").all() as {
      case_id: string | null;
      data: string;
    }[];
    expect(ran).toHaveLength(1);
    expect(ran[0]!.case_id).toBeNull();
    expect(JSON.parse(ran[0]!.data)).toMatchObject({ policyYears: 3, purged: 2, held: 1 });
  });

  it('states in the evidence when each purged case was purged and under which policy', async () => {
    const s = seeded();
    await run(s);
    const period = readEvidencePeriod(s.db, {
      from: new Date('2023-01-01T00:00:00Z'),
      to: new Date('2026-12-31T00:00:00Z'),
      includeSubjects: false,
    });
    const old = period.cases.find((c) => c.id === s.ids.old)!;
    expect(old).toMatchObject({ purged_at: NOW.toISOString(), purge_policy_years: 3 });
    expect(period.cases.find((c) => c.id === s.ids.young)).toMatchObject({ purged_at: null });
    expect(period.events.find((e) => e.case_id === s.ids.old && e.type === 'case.purged')?.detail).toEqual({
      policyYears: '3',
      keptUntil: '2026-11-30',
    });
  });

  describe('when mail later points at a purged case', () => {
    it('a reply on its thread opens a new case related to the tombstone and adds nothing to it', async () => {
      const s = seeded();
      const ack = s.db
        .prepare("SELECT message_id FROM outbox WHERE case_id = ? AND kind = 'acknowledgment'")
        .get(s.ids.old) as { message_id: string };
      await run(s);
      const messagesBefore = s.db
        .prepare('SELECT count(*) AS n FROM messages WHERE case_id = ?')
        .get(s.ids.old);
      s.h.clock.set(NOW);
      const { classification, result } = s.h.ingest(
        s.db,
        buildDecoded({
          messageId: 'late-reply@reporter.test',
          inReplyTo: ack.message_id,
          references: [ack.message_id],
          from: { address: 'old@reporter.test', name: null },
          subject: `Re: [${s.ids.old}] any news?`,
        }),
      );
      expect(classification).toMatchObject({ kind: 'new-report', purged: s.ids.old });
      expect(result.caseId).not.toBe(s.ids.old);
      expect(s.db.prepare('SELECT count(*) AS n FROM messages WHERE case_id = ?').get(s.ids.old)).toEqual(
        messagesBefore,
      );
      expect(
        s.db
          .prepare('SELECT kind FROM case_links WHERE case_id = ? AND other_id = ?')
          .all(result.caseId, s.ids.old),
      ).toEqual([{ kind: 'related' }]);
      expect(caseRow(s.db, s.ids.old).reporter_address).toBe('');
    });

    it('a staff command tagged with its id is not filed to the tombstone', async () => {
      const s = seeded();
      await run(s);
      s.h.clock.set(NOW);
      const alice = s.h.config.staff.find((m) => m.address === 'alice@psirt.test')!;
      const { classification } = s.h.ingest(
        s.db,
        buildSignedStaffMail(
          alice,
          `Re: [${s.ids.old}] /reopen`,
          {},
          {
            messageId: 'late-cmd@psirt.test',
            signedAt: NOW.toISOString(),
            digest: 'e'.repeat(64),
          },
        ),
      );
      expect(classification).toMatchObject({ kind: 'staff', caseId: null });
      expect(caseRow(s.db, s.ids.old).stage).toBe('closed');
    });
  });
});
