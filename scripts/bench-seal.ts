/**
 * The cost of sealing at rest (#13), in this process: seal and open throughput for typical
 * reports and one large spooled mail, the CPU sealing adds per report, openVault at start with N
 * data keys to unwrap, and the backlog pass (`psirt seal`) over a database written before #13.
 */
import { randomBytes } from 'node:crypto';
import { sealBacklog } from '../src/7-cases/seal-backlog.js';
import { sealSubject } from '../src/7-cases/sealed-subject.js';
import { fixedClock } from '../src/core/clock.js';
import { newDataKey } from '../src/core/vault.js';
import { wrapDataKey } from '../src/pgp/data-key.js';
import { openVault } from '../src/roles/vault.js';
import { migratedDb, tempDbPath } from '../test/support/db.js';
import { writeLegacyRecords } from '../test/support/legacy-records.js';
import { NOW, teamKey } from '../test/support/mail-fixtures.js';

const cpuMs = (from: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1000;
};

export async function sealCost(progress: (msg: string) => void): Promise<Record<string, number>> {
  const clock = fixedClock(NOW);
  const team = await teamKey();
  const db = migratedDb(clock);
  const { vault } = await openVault(db, clock, [team], { seal: true });

  progress('seal: 5,000 reports of 2–5 KB');
  const reports = Array.from({ length: 5000 }, () => randomBytes(2048 + Math.floor(Math.random() * 3072)));
  const bytes = reports.reduce((a, r) => a + r.length, 0);
  let t = performance.now();
  const cpu = process.cpuUsage();
  const sealed = reports.map((r) => vault.seal(r, 'messages.raw'));
  // A report is stored sealed once as raw mail and once as its subject.
  for (let i = 0; i < reports.length; i++)
    sealSubject(vault, { subject: `Report ${String(i)}`, protected: false });
  const sealMs = performance.now() - t;
  const sealCpuMs = cpuMs(cpu);
  t = performance.now();
  for (const s of sealed) vault.open(s, 'messages.raw');
  const openMs = performance.now() - t;

  progress('seal: one 34 MB spooled mail');
  const big = randomBytes(34 << 20);
  t = performance.now();
  const bigSealed = vault.seal(big, 'spool');
  const bigSealMs = performance.now() - t;
  t = performance.now();
  vault.open(bigSealed, 'spool');
  const bigOpenMs = performance.now() - t;

  progress('seal: openVault with 1, 10 and 100 data keys');
  const startMs: Record<number, number> = {};
  for (const n of [1, 10, 100]) {
    const keysDb = migratedDb(clock);
    for (let i = 0; i < n; i++)
      // Rows as N rotations would leave them (insertSealKey keeps one per signing key).
      keysDb
        .prepare('INSERT INTO seal_keys (created_at, fingerprints, wrapped) VALUES (?, ?, ?)')
        .run(
          clock.now().toISOString(),
          JSON.stringify([team.fingerprint]),
          await wrapDataKey(newDataKey(), team),
        );
    t = performance.now();
    await openVault(keysDb, clock, [team], { seal: false });
    startMs[n] = performance.now() - t;
    keysDb.close();
  }

  progress('seal: the backlog of 2,000 cases written before #13');
  const path = tempDbPath();
  const legacy = migratedDb(clock, path);
  const { spoolDir } = writeLegacyRecords(legacy, path, 'BENCH', { cases: 2000 });
  const legacyVault = (await openVault(legacy, clock, [team], { seal: true })).vault;
  t = performance.now();
  const r = sealBacklog(legacy, legacyVault, { spoolDir, caseIdPattern: 'SEC-\\d{4}-\\d{4,}' });
  const backlogMs = performance.now() - t;
  legacy.close();
  db.close();
  const mb = (n: number, ms: number): number => Math.round((n / (1 << 20) / (ms / 1000)) * 10) / 10;
  return {
    reports: reports.length,
    sealMbPerSecond: mb(bytes, sealMs),
    openMbPerSecond: mb(bytes, openMs),
    cpuMsPerReport: Math.round((sealCpuMs / reports.length) * 1000) / 1000,
    bigMailMb: 34,
    bigSealMbPerSecond: mb(big.length, bigSealMs),
    bigOpenMbPerSecond: mb(big.length, bigOpenMs),
    openVault1Ms: Math.round(startMs[1] ?? 0),
    openVault10Ms: Math.round(startMs[10] ?? 0),
    openVault100Ms: Math.round(startMs[100] ?? 0),
    backlogCases: 2000,
    backlogRecords: r.sealed.raw + r.sealed.spool + r.sealed.subjects + r.sealed.outbox,
    backlogMs: Math.round(backlogMs),
  };
}
