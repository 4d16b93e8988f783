import { testVault } from '../../support/vault.js';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  holdsMessage,
  pendingRestoreRecovery,
  recordRecovery,
  recordRestore,
} from '../../../src/7-cases/backup-store.js';
import type { Db } from '../../../src/7-cases/db.js';
import { storeRaw } from '../../../src/7-cases/intake-store.js';
import { BackupError, silentProgress, takeBackup } from '../../../src/cli/backup.js';
import { restoreBackup } from '../../../src/cli/restore.js';
import { verifyRecord } from '../../../src/cli/verify.js';
import { loadConfig } from '../../../src/config/load.js';
import { fixedClock } from '../../../src/core/clock.js';
import { migratedDb, tempDbPath } from '../../support/db.js';

const clock = fixedClock('2026-12-01T12:00:00Z');
const configFor = (dbPath: string) =>
  loadConfig({ env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'x', PSIRT_DATABASE__PATH: dbPath } });

/** A database with one message in SQLite and two kept as spool files, as the intake stores them. */
function seeded(): { db: Db; dbPath: string; spooled: { rowId: number; path: string }[] } {
  const dbPath = tempDbPath();
  const db = migratedDb(clock, dbPath);
  const spool = join(dirname(dbPath), 'spool');
  mkdirSync(spool);
  const spooled: { rowId: number; path: string }[] = [];
  for (let uid = 1; uid <= 3; uid++) {
    const raw = Buffer.from(`Message-ID: <m${uid}@t>\r\n\r\nsealed bytes ${uid}`);
    const sha256 = createHash('sha256').update(raw).digest('hex');
    const path = uid === 1 ? null : join(spool, `${sha256}.eml`);
    if (path !== null) writeFileSync(path, raw);
    const stored = storeRaw(db, clock, testVault(), {
      mailbox: 'INBOX',
      uidvalidity: '7',
      uid,
      size: raw.length,
      raw: path === null ? raw : null,
      rawPath: path,
      sha256,
      messageId: `m${uid}@t`,
      internalDate: null,
    });
    if (path !== null) spooled.push({ rowId: stored.rowId, path });
  }
  return { db, dbPath, spooled };
}

const deps = (extra: { afterDatabaseCopy?: () => void; notes?: string[] } = {}) => ({
  clock,
  progress: silentProgress,
  note: (line: string) => extra.notes?.push(line),
  ...(extra.afterDatabaseCopy ? { afterDatabaseCopy: extra.afterDatabaseCopy } : {}),
});

describe('psirt backup: a spool file that vanished between the database copy and the file copy', () => {
  it('is noted in the manifest when the live database purged its message meanwhile, and the backup restores', async () => {
    const { db, dbPath, spooled } = seeded();
    const purged = spooled[0]!;
    const dir = join(mkdtempSync(join(tmpdir(), 'psirt-bk-')), 'b');
    const notes: string[] = [];
    const { manifest } = await takeBackup(
      configFor(dbPath),
      dir,
      deps({
        notes,
        // A retention purge commits, then deletes the file (its order), after the copy was taken.
        afterDatabaseCopy: () => {
          db.prepare("UPDATE messages SET raw = X'', raw_path = NULL, purged_at = ? WHERE id = ?").run(
            clock.now().toISOString(),
            purged.rowId,
          );
          unlinkSync(purged.path);
        },
      }),
    );
    db.close();
    expect(manifest.vanished).toEqual([
      {
        message: purged.rowId,
        file: `spool/${purged.path.split('/').at(-1)!}`,
        reason: 'purged in the live database after the copy',
      },
    ]);
    expect(notes).toEqual([
      `message ${purged.rowId}: its spool file was purged after the database copy (noted in the manifest)`,
    ]);
    expect(manifest.files.map((f) => f.path)).toEqual([
      'database.sqlite',
      `spool/${spooled[1]!.path.split('/').at(-1)!}`,
    ]);
    // Private: the folder 0700, every file 0600.
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of ['database.sqlite', 'manifest.json', manifest.files[1]!.path])
      expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600);

    const target = join(mkdtempSync(join(tmpdir(), 'psirt-rs-')), 'data', 'psirt.db');
    await restoreBackup(configFor(target), dir, { clock, progress: silentProgress });
    expect(readdirSync(join(dirname(target), 'spool'))).toEqual([spooled[1]!.path.split('/').at(-1)]);
  });

  it('fails, keeping nothing, when the live database still needs the file', async () => {
    const { db, dbPath, spooled } = seeded();
    const parent = mkdtempSync(join(tmpdir(), 'psirt-bk-'));
    const dir = join(parent, 'b');
    const lost = spooled[1]!;
    const taking = takeBackup(
      configFor(dbPath),
      dir,
      deps({ afterDatabaseCopy: () => unlinkSync(lost.path) }),
    );
    await expect(taking).rejects.toThrow(BackupError);
    await expect(taking).rejects.toThrow(
      `spool file ${lost.path} of message ${lost.rowId} is missing, and the database still needs it`,
    );
    db.close();
    // No half backup: neither DIR nor its temporary folder.
    expect(readdirSync(parent)).toEqual([]);
  });
});

describe('restore records', () => {
  it('a restore points spool references at the new folder and is an event; the recovery is pending until recorded once', () => {
    const { db, spooled } = seeded();
    expect(pendingRestoreRecovery(db)).toBeNull();
    recordRestore(db, clock, {
      takenAt: '2026-11-30T08:00:00.000Z',
      toolVersion: '0.1.0',
      place: (p) => join('/new/data/spool', p.split('/').at(-1)!),
    });
    const paths = db
      .prepare('SELECT raw_path FROM messages WHERE raw_path IS NOT NULL ORDER BY id')
      .all() as {
      raw_path: string;
    }[];
    expect(paths.map((p) => p.raw_path)).toEqual(
      spooled.map((s) => join('/new/data/spool', s.path.split('/').at(-1)!)),
    );
    const pending = pendingRestoreRecovery(db);
    expect(pending).toMatchObject({ takenAt: '2026-11-30T08:00:00.000Z' });
    recordRecovery(db, clock, pending!.restoreEventId, { processed: 3, quarantine: 1 });
    expect(pendingRestoreRecovery(db)).toBeNull();
    // A later restore of this database is pending again.
    recordRestore(db, clock, { takenAt: '2026-12-01T08:00:00.000Z', toolVersion: '0.1.0', place: (p) => p });
    expect(pendingRestoreRecovery(db)).toMatchObject({ takenAt: '2026-12-01T08:00:00.000Z' });
    // Both records are in the hash chain, which still verifies.
    expect(verifyRecord(db).ok).toBe(true);
    db.close();
  });

  it('holdsMessage knows a message by its bytes or by its Message-ID', () => {
    const { db } = seeded();
    const raw = Buffer.from('Message-ID: <m1@t>\r\n\r\nsealed bytes 1');
    expect(holdsMessage(db, createHash('sha256').update(raw).digest('hex'), null)).toBe(true);
    expect(holdsMessage(db, 'f'.repeat(64), 'm2@t')).toBe(true);
    expect(holdsMessage(db, 'f'.repeat(64), 'other@t')).toBe(false);
    expect(holdsMessage(db, 'f'.repeat(64), null)).toBe(false);
    db.close();
  });
});
