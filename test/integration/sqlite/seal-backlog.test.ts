import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../src/7-cases/db.js';
import { backlogCounts, sealBacklog } from '../../../src/7-cases/seal-backlog.js';
import { openSubject } from '../../../src/7-cases/sealed-subject.js';
import { PROTECTED_SUBJECT } from '../../../src/7-cases/subject.js';
import { isSealed } from '../../../src/core/vault.js';
import { migratedDb, tempDbPath } from '../../support/db.js';
import { writeLegacyRecords } from '../../support/legacy-records.js';
import { serviceVault } from '../../support/vault.js';
import { bytesAtRest } from '../../support/at-rest.js';

const PATTERN = 'SEC-\\d{4}-\\d{4,}';

function legacy(canary: string, cases = 3): { db: Db; path: string; spoolDir: string; spoolFile: string } {
  const path = tempDbPath();
  const db = migratedDb(undefined, path);
  return { db, path, ...writeLegacyRecords(db, path, canary, { cases }) };
}

describe('sealBacklog: a database written before #13 (real SQLite file and spool folder)', () => {
  it('leaves no canary readable in the file, its WAL or spool/, and every record opens again', async () => {
    const canary = 'CANARY-backlog-7f3a91';
    const { db, path, spoolDir, spoolFile } = legacy(canary);
    const vault = await serviceVault(db);
    expect(bytesAtRest(path).includes(canary)).toBe(true);
    expect(backlogCounts(db, spoolDir)).toEqual({ raw: 3, spool: 1, subjects: 3, outbox: 9 });

    const result = sealBacklog(db, vault, { spoolDir, caseIdPattern: PATTERN, batch: 2 });
    expect(result.sealed).toEqual({ raw: 3, spool: 1, subjects: 3, outbox: 9 });
    expect(result.walTruncated).toBe(true);
    expect(backlogCounts(db, spoolDir)).toEqual({ raw: 0, spool: 0, subjects: 0, outbox: 0 });
    // While the service still has the database open (no close-time checkpoint to help).
    expect(bytesAtRest(path).includes(canary)).toBe(false);
    db.close();
    expect(bytesAtRest(path).includes(canary)).toBe(false);

    const again = openDatabase(path);
    const raws = again.prepare('SELECT raw FROM messages WHERE raw IS NOT NULL ORDER BY id').all() as {
      raw: Buffer;
    }[];
    expect(raws.map((r) => vault.openText(r.raw, 'messages.raw'))).toEqual(
      [1, 2, 3].map(
        (i) =>
          `From: r@example.org\r\nSubject: Heap overflow ${canary} #${String(i)}\r\n\r\nbody ${canary}\r\n`,
      ),
    );
    expect(vault.openText(readFileSync(spoolFile), 'spool')).toContain(`big ${canary}`);
    expect(readdirSync(spoolDir)).toEqual(['INBOX-1-900.eml']);
    const cases = again.prepare('SELECT id, subject, subject_sealed FROM cases ORDER BY id').all() as {
      id: string;
      subject: string;
      subject_sealed: Buffer;
    }[];
    expect(cases.map((c) => c.subject)).toEqual([PROTECTED_SUBJECT, PROTECTED_SUBJECT, PROTECTED_SUBJECT]);
    expect(openSubject(vault, cases[0]!.subject_sealed)).toEqual({
      subject: `Heap overflow ${canary} #1`,
      protected: false,
    });
    const outbox = again
      .prepare(
        "SELECT kind, subject FROM outbox WHERE case_id = 'SEC-2026-0001' OR dedupe_key LIKE '%:1' ORDER BY id",
      )
      .all();
    expect(outbox).toEqual([
      { kind: 'acknowledgment', subject: 'Re: [SEC-2026-0001] ...' },
      { kind: 'staff-notification', subject: '[SEC-2026-0001] ...' },
      { kind: 'command-confirmation', subject: 'Re: [SEC-2026-0001] ...' },
      // Ids and deadlines only: left as it was.
      { kind: 'escalation', subject: '[SEC-2026-0001] Escalation: acknowledge deadline missed' },
    ]);
    again.close();
  });

  it('leaves no clear copy in free pages either, with enough rows that pages split (review H2)', async () => {
    const canary = 'CANARY-backlog-split-44e0';
    const { db, path, spoolDir } = legacy(canary, 20);
    const vault = await serviceVault(db);
    sealBacklog(db, vault, { spoolDir, caseIdPattern: PATTERN, batch: 7 });
    // The intake's connection keeps the default secure_delete; older cells moved by page splits
    // are free space the pass itself never freed.
    expect(bytesAtRest(path).includes(canary)).toBe(false);
    db.close();
  });

  it('is idempotent: a second run seals nothing and changes no sealed byte', async () => {
    const { db, spoolDir, spoolFile } = legacy('CANARY-idem-2b8c');
    const vault = await serviceVault(db);
    sealBacklog(db, vault, { spoolDir, caseIdPattern: PATTERN });
    const rows = db.prepare('SELECT raw FROM messages WHERE raw IS NOT NULL ORDER BY id').all();
    const spool = readFileSync(spoolFile);
    const second = sealBacklog(db, vault, { spoolDir, caseIdPattern: PATTERN });
    expect(second.sealed).toEqual({ raw: 0, spool: 0, subjects: 0, outbox: 0 });
    expect(db.prepare('SELECT raw FROM messages WHERE raw IS NOT NULL ORDER BY id').all()).toEqual(rows);
    expect(readFileSync(spoolFile).equals(spool)).toBe(true);
    db.close();
  });

  it('is resumable: a pass stopped after a batch goes on where it stopped, and a crash leftover is dropped', async () => {
    const canary = 'CANARY-resume-c41d';
    const { db, path, spoolDir, spoolFile } = legacy(canary, 5);
    const vault = await serviceVault(db);
    // A crash while sealing the spool file left a half-written sealed copy beside it.
    writeFileSync(`${spoolFile}.sealing`, 'PSL1 half');
    expect(() =>
      sealBacklog(db, vault, {
        spoolDir,
        caseIdPattern: PATTERN,
        batch: 2,
        onProgress: (p) => {
          if (p.kind === 'raw' && p.done === 2) throw new Error('killed');
        },
      }),
    ).toThrow('killed');
    // The first batch committed, the rest is still in clear.
    expect(backlogCounts(db, spoolDir)).toEqual({ raw: 3, spool: 1, subjects: 5, outbox: 15 });
    const rest = sealBacklog(db, vault, { spoolDir, caseIdPattern: PATTERN, batch: 2 });
    expect(rest.sealed).toEqual({ raw: 3, spool: 1, subjects: 5, outbox: 15 });
    expect(readdirSync(spoolDir)).toEqual(['INBOX-1-900.eml']);
    expect(isSealed(readFileSync(spoolFile))).toBe(true);
    db.close();
    expect(bytesAtRest(path).includes(canary)).toBe(false);
  });
  it('does not count the service’s own mails, whose subjects carry no reporter words, as clear (#15 trial)', () => {
    const db = migratedDb();
    const row = db.prepare(
      `INSERT INTO outbox (case_id, kind, dedupe_key, recipients, message_id, subject, payload, state, created_at)
       VALUES (NULL, ?, ?, '["oncall@example.org"]', ?, ?, '{}', 'sent', '2026-12-01T00:00:00Z')`,
    );
    row.run('mail-probe', 'probe:1', 'p1@x', '[psirt] dead-man probe');
    row.run('service-alert', 'alarm:1', 'a1@x', 'ALERT: relay-down');
    row.run('import-summary', 'import:1', 'i1@x', 'Mailbox adopted: 300 case(s)');
    expect(backlogCounts(db).outbox).toBe(0);
  });
});
