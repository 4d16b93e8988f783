import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Db } from '../../src/7-cases/db.js';

/**
 * Rows as a version before #13 wrote them, straight in SQL (so the fixture stays "legacy" whatever
 * the intake writes now): raw mail in clear in `messages.raw` and in a spool file, the real
 * subject in `cases.subject`, and outbox subjects quoting it. Each carries `canary`.
 */
export function writeLegacyRecords(
  db: Db,
  dbPath: string,
  canary: string,
  opts: { cases?: number } = {},
): { spoolDir: string; spoolFile: string; caseIds: string[] } {
  const spoolDir = join(dirname(dbPath), 'spool');
  mkdirSync(spoolDir, { recursive: true });
  const spoolFile = join(spoolDir, 'INBOX-1-900.eml');
  writeFileSync(spoolFile, `Subject: big ${canary}\r\n\r\n${'x'.repeat(200_000)} ${canary}\r\n`);
  const at = '2026-11-20T10:00:00.000Z';
  const caseIds: string[] = [];
  const n = opts.cases ?? 3;
  db.transaction(() => {
    for (let i = 1; i <= n; i++) {
      const id = `SEC-2026-${String(i).padStart(4, '0')}`;
      caseIds.push(id);
      db.prepare(
        `INSERT INTO cases (id, year, seq, reporter_address, subject, created_at, updated_at)
         VALUES (?, 2026, ?, 'r@example.org', ?, ?, ?)`,
      ).run(id, i, `Heap overflow ${canary} #${String(i)}`, at, at);
      const raw = Buffer.from(
        `From: r@example.org\r\nSubject: Heap overflow ${canary} #${String(i)}\r\n\r\nbody ${canary}\r\n`,
      );
      db.prepare(
        `INSERT INTO messages (mailbox, uidvalidity, uid, sha256, size, raw, stored_at, state, case_id)
         VALUES ('INBOX', '1', ?, ?, ?, ?, ?, 'applied', ?)`,
      ).run(i, `sha-${String(i)}`, raw.length, raw, at, id);
      const outbox = (kind: string, subject: string, caseId: string | null): void => {
        db.prepare(
          `INSERT INTO outbox (case_id, kind, dedupe_key, recipients, message_id, subject, created_at)
           VALUES (?, ?, ?, '["r@example.org"]', ?, ?, ?)`,
        ).run(caseId, kind, `${kind}:${String(i)}`, `${kind}-${String(i)}@psirt.test`, subject, at);
      };
      outbox('acknowledgment', `Re: [${id}] Heap overflow ${canary} #${String(i)}`, id);
      outbox('staff-notification', `[${id}] New report: Heap overflow ${canary} #${String(i)}`, id);
      outbox('command-confirmation', `Re: [${id}] Heap overflow ${canary} /assign bob`, null);
      outbox('escalation', `[${id}] Escalation: acknowledge deadline missed`, id);
    }
    const big = Buffer.byteLength(`Subject: big ${canary}\r\n\r\n`) + 200_002 + canary.length;
    db.prepare(
      `INSERT INTO messages (mailbox, uidvalidity, uid, sha256, size, raw_path, stored_at, state)
       VALUES ('INBOX', '1', 1000000, 'sha-big', ?, ?, ?, 'applied')`,
    ).run(big, spoolFile, at);
  }).immediate();
  return { spoolDir, spoolFile, caseIds };
}
