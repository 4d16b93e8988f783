import { workerStack } from '../support/worker-stack.js';
import { createHash, randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/7-cases/db.js';
import { runCli } from '../support/cli.js';
import { tempDbPath } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { openMailbox } from '../support/mailbox.js';
import { sendPaced } from '../support/paced-mail.js';
import { drainSecurityInbox, queryDb, startService } from '../support/service.js';
import { address, type StackInfo } from '../support/stack.js';

const stack = workerStack();
const REPORTERS = ['reporter1', 'reporter2', 'reporter3'];

function count(dbPath: string, sql: string, ...params: unknown[]): number {
  return queryDb<{ n: number }>(dbPath, sql, ...params)[0]?.n ?? -1;
}

/**
 * Processed and quarantine folders of this run only: the restored intake searches them for mail
 * filed after the backup, and must not find the mail of earlier test runs on the same stack.
 */
async function runFolders(s: StackInfo, tag: string): Promise<Record<string, string>> {
  const processed = `${tag}-processed`;
  const quarantine = `${tag}-quarantine`;
  const client = await openMailbox(s, 'security');
  try {
    await client.mailboxCreate(processed);
    await client.mailboxCreate(quarantine);
  } finally {
    await client.logout();
  }
  return { PSIRT_IMAP__PROCESSED_FOLDER: processed, PSIRT_IMAP__QUARANTINE_FOLDER: quarantine };
}

/**
 * Delivers `n` distinct reports at a steady pace; the ones in `large` carry a 1.2 MiB attachment,
 * so the intake keeps them as spool files (over 1 MiB) and the backup copies files too.
 */
function deliverReports(
  s: StackInfo,
  run: string,
  n: number,
  perSecond: number,
  large: ReadonlySet<number> = new Set(),
): Promise<void> {
  return sendPaced(s, n, perSecond, (i) => ({
    from: address(s, REPORTERS[i % REPORTERS.length] ?? 'reporter1'),
    to: address(s, 'security'),
    subject: `Backup test report ${i}`,
    messageId: `<${run}-${i}@backup.e2e>`,
    text: `Report ${i} of run ${run}.\n${'Details of the vulnerability. '.repeat(20)}`,
    ...(large.has(i)
      ? {
          attachments: [
            { filename: 'trace.log', content: `${run} ${i} `.repeat(90_000).slice(0, 1_260_000) },
          ],
        }
      : {}),
  }));
}

const applied = (dbPath: string, run: string): number =>
  count(
    dbPath,
    "SELECT count(*) AS n FROM messages WHERE message_id LIKE ? AND state = 'applied'",
    `${run}-%`,
  );

describe('backup and restore (real Dovecot, Postfix, Redis)', () => {
  it('psirt backup during a 200-report ingest, restore into a new data folder, restart: every report is exactly one case', async () => {
    await drainSecurityInbox(stack);
    const run = `backup-${randomUUID()}`;
    const total = 200;
    const extra = await runFolders(stack, run.slice(0, 15));
    const oldDb = tempDbPath();
    const service = await startService(stack, extra, oldDb);
    const backupDir = join(mkdtempSync(join(tmpdir(), 'psirt-backup-')), 'backup');
    let inBackup: number;
    try {
      const delivery = deliverReports(stack, run, total, 12, new Set([3, 17]));
      await eventually(() => (applied(oldDb, run) >= 40 ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: '40 reports applied before the backup',
      });
      // The backup runs while mail keeps arriving and the service keeps writing.
      const b = await runCli(['backup', backupDir], service.env, 60_000);
      expect(b.stderr).toContain('psirt: backup:');
      expect(b.code, b.stderr).toBe(0);
      expect(b.stdout).toMatch(/^backup written to .+: \d+ cases, \d+ messages, \d+ events, 2 spool files/);
      inBackup = count(
        join(backupDir, 'database.sqlite'),
        'SELECT count(*) AS n FROM messages WHERE message_id LIKE ?',
        `${run}-%`,
      );
      await delivery;
      // Mail the old service files after the backup is what the restore must not lose: wait
      // until some of it left the INBOX for the processed folder (the rest may stay in the INBOX).
      await eventually(
        () =>
          count(
            oldDb,
            "SELECT count(*) AS n FROM messages WHERE message_id LIKE ? AND filed_to = 'processed'",
            `${run}-%`,
          ) >=
          inBackup + 20
            ? true
            : undefined,
        { timeoutMs: 60_000, intervalMs: 200, what: 'reports filed after the backup' },
      );
    } finally {
      expect(await service.stop()).toBe(0);
    }
    expect(inBackup).toBeGreaterThanOrEqual(40);
    expect(inBackup).toBeLessThan(total);
    // The reports the old service filed to the processed folder that the backup does not know.
    const ids = (path: string, sql: string): Set<string> =>
      new Set(queryDb<{ message_id: string }>(path, sql, `${run}-%`).map((r) => r.message_id));
    const known = ids(
      join(backupDir, 'database.sqlite'),
      'SELECT message_id FROM messages WHERE message_id LIKE ?',
    );
    const filedAfter = [
      ...ids(oldDb, "SELECT message_id FROM messages WHERE message_id LIKE ? AND filed_to = 'processed'"),
    ].filter((id) => !known.has(id)).length;
    expect(filedAfter).toBeGreaterThan(0);

    // The backup folder: private, complete, and the database copy is one self-contained file.
    expect(readdirSync(backupDir).sort()).toEqual(['database.sqlite', 'manifest.json', 'spool']);
    expect(readdirSync(join(backupDir, 'spool'))).toHaveLength(2);
    const manifest = JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8')) as {
      files: { path: string }[];
      database: { counts: { messages: number } };
    };
    expect(manifest.files.map((f) => f.path).filter((p) => p.startsWith('spool/'))).toHaveLength(2);

    const newDb = join(mkdtempSync(join(tmpdir(), 'psirt-restored-')), 'data', 'psirt.db');
    const env = { ...service.env, PSIRT_DATABASE__PATH: newDb };
    const r = await runCli(['restore', backupDir], env, 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('every hash chain verifies');
    expect(readdirSync(join(dirname(newDb), 'spool'))).toHaveLength(2);
    // Every spool reference points into the new data folder.
    expect(
      count(
        newDb,
        'SELECT count(*) AS n FROM messages WHERE raw_path IS NOT NULL AND raw_path LIKE ?',
        `${dirname(newDb)}/spool/%`,
      ),
    ).toBe(2);

    const restored = await startService(stack, extra, newDb);
    try {
      await eventually(() => (applied(newDb, run) === total ? true : undefined), {
        timeoutMs: 90_000,
        intervalMs: 500,
        what: 'all 200 reports applied after the restore',
      });
    } finally {
      expect(await restored.stop()).toBe(0);
    }
    // None lost, none duplicated: each report's Message-ID once, each in its own case.
    expect(count(newDb, 'SELECT count(*) AS n FROM messages WHERE message_id LIKE ?', `${run}-%`)).toBe(
      total,
    );
    expect(
      count(
        newDb,
        'SELECT count(DISTINCT message_id) AS n FROM messages WHERE message_id LIKE ?',
        `${run}-%`,
      ),
    ).toBe(total);
    expect(
      count(newDb, 'SELECT count(DISTINCT case_id) AS n FROM messages WHERE message_id LIKE ?', `${run}-%`),
    ).toBe(total);
    expect(count(newDb, 'SELECT count(*) AS n FROM cases')).toBe(total);
    // One acknowledgment per case (sending them is the mailer's, tested elsewhere; a row of the
    // backup sent by the old service is sent again with its Message-ID: at-least-once).
    expect(
      count(
        newDb,
        "SELECT count(*) AS n FROM outbox o JOIN messages m ON m.case_id = o.case_id WHERE m.message_id LIKE ? AND o.kind = 'acknowledgment'",
        `${run}-%`,
      ),
    ).toBe(total);
    expect(
      queryDb<{ sender: string; n: number }>(
        newDb,
        'SELECT sender, count(*) AS n FROM messages WHERE message_id LIKE ? GROUP BY sender ORDER BY sender',
        `${run}-%`,
      ),
    ).toEqual(
      REPORTERS.map((u, k) => ({
        sender: address(stack, u),
        n: Math.floor(total / 3) + (k < total % 3 ? 1 : 0),
      })),
    );
    // The recovery ran once and moved back exactly the mail the old service filed after the backup.
    const recovered = queryDb<{ data: string }>(
      newDb,
      "SELECT data FROM events WHERE case_id IS NULL AND type = 'intake.restore-recovered'",
    );
    expect(recovered).toHaveLength(1);
    const moved = (JSON.parse(recovered[0]!.data) as { movedBack: unknown }).movedBack;
    expect(moved).toEqual({ processed: filedAfter, quarantine: 0 });
    expect(
      count(
        newDb,
        "SELECT count(*) AS n FROM messages WHERE message_id LIKE ? AND filed_to = 'processed'",
        `${run}-%`,
      ),
    ).toBe(total);
    const box = await openMailbox(stack, 'security');
    const left = await box.status('INBOX', { messages: true }).finally(() => box.logout());
    expect(left === false ? -1 : left.messages).toBe(0);
    const v = await runCli(['verify'], env);
    expect(v.code, v.stderr).toBe(0);
    process.stdout.write(
      `backup test: ${inBackup} reports in the backup, ${filedAfter} filed after it and moved back, ${total} cases after the restore\n`,
    );
  }, 240_000);

  it('restore refuses a tampered backup, a non-empty data folder and names what is wrong; backup refuses a non-empty folder', async () => {
    await drainSecurityInbox(stack);
    const run = `tamper-${randomUUID()}`;
    const extra = await runFolders(stack, run.slice(0, 15));
    const dbPath = tempDbPath();
    const service = await startService(stack, extra, dbPath);
    const root = mkdtempSync(join(tmpdir(), 'psirt-tamper-'));
    const good = join(root, 'good');
    try {
      await deliverReports(stack, run, 3, 10, new Set([1]));
      await eventually(() => (applied(dbPath, run) === 3 ? true : undefined), {
        timeoutMs: 30_000,
        what: 'three reports applied',
      });
      const b = await runCli(['backup', good], service.env);
      expect(b.code, b.stderr).toBe(0);
      // Backup into a folder that is not empty: refused, nothing changed there.
      const again = await runCli(['backup', good], service.env);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`${good} is not empty`);
    } finally {
      expect(await service.stop()).toBe(0);
    }
    const manifestOf = (dir: string) =>
      JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
        files: { path: string; size: number; sha256: string }[];
      };
    const variant = (name: string, change: (dir: string) => void): string => {
      const dir = join(root, name);
      cpSync(good, dir, { recursive: true });
      change(dir);
      return dir;
    };
    const flipByte = (file: string, at: number): void => {
      const bytes = readFileSync(file);
      bytes[at] = (bytes[at] ?? 0) ^ 0x01;
      writeFileSync(file, bytes);
    };
    const spoolFile = manifestOf(good).files.find((f) => f.path.startsWith('spool/'))!.path;
    const cases: [string, string, string][] = [
      ['db-byte', 'database.sqlite: its SHA-256 does not match the manifest', ''],
      ['manifest-sum', `${spoolFile}: its SHA-256 does not match the manifest`, ''],
      ['extra-file', 'spool/extra.eml: not in the manifest (an extra file)', ''],
      ['missing-file', `${spoolFile}: missing from the backup`, ''],
      ['rehashed-event', 'database.sqlite: case ', 'content does not match its hash'],
    ];
    const dirs: Record<string, string> = {
      'db-byte': variant('db-byte', (d) => flipByte(join(d, 'database.sqlite'), 5000)),
      'manifest-sum': variant('manifest-sum', (d) => {
        const m = manifestOf(d);
        const f = m.files.find((x) => x.path === spoolFile)!;
        f.sha256 = `${f.sha256.slice(0, -1)}${f.sha256.endsWith('0') ? '1' : '0'}`;
        writeFileSync(join(d, 'manifest.json'), JSON.stringify(m));
      }),
      'extra-file': variant('extra-file', (d) => writeFileSync(join(d, 'spool', 'extra.eml'), 'x')),
      'missing-file': variant('missing-file', (d) => rmSync(join(d, spoolFile))),
      // A forger who changes an event and fixes the manifest's sum: the hash chain shows it.
      'rehashed-event': variant('rehashed-event', (d) => {
        const file = join(d, 'database.sqlite');
        const db = openDatabase(file);
        try {
          db.exec('DROP TRIGGER events_no_update');
          db.prepare(
            "UPDATE events SET actor = 'staff:forger@psirt.test' WHERE id = (SELECT min(id) FROM events WHERE case_id IS NOT NULL)",
          ).run();
          db.pragma('journal_mode = DELETE');
        } finally {
          db.close();
        }
        const m = manifestOf(d);
        const f = m.files.find((x) => x.path === 'database.sqlite')!;
        const bytes = readFileSync(file);
        f.size = bytes.length;
        f.sha256 = createHash('sha256').update(bytes).digest('hex');
        writeFileSync(join(d, 'manifest.json'), JSON.stringify(m));
      }),
    };
    // Independent processes: run them side by side.
    const results = await Promise.all(
      cases.map(([name]) =>
        runCli(
          ['restore', dirs[name]!],
          { ...service.env, PSIRT_DATABASE__PATH: join(root, `target-${name}`, 'psirt.db') },
          90_000,
        ),
      ),
    );
    for (const [i, [name, expected, also]] of cases.entries()) {
      const r = results[i]!;
      expect(r.code, `${name}: ${r.stderr}`).toBe(1);
      expect(r.stderr, name).toContain(expected);
      expect(r.stderr, name).toContain(also);
      expect(r.stderr, name).toMatch(/psirt: nothing restored\n$/);
      // Nothing written to the data folder.
      expect(existsSync(join(root, `target-${name}`)), name).toBe(false);
    }
    // A data folder that already holds a database: refused, the database untouched.
    const before = readFileSync(dbPath);
    const r = await runCli(['restore', good], service.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${dbPath} exists: restore only into an empty data folder`);
    expect(readFileSync(dbPath).equals(before)).toBe(true);
    // The untouched backup restores.
    const ok = await runCli(['restore', good], {
      ...service.env,
      PSIRT_DATABASE__PATH: join(root, 'fresh', 'psirt.db'),
    });
    expect(ok.code, ok.stderr).toBe(0);
  }, 180_000);
});
