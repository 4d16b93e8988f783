/**
 * The escalation sweep and `psirt cases list` at scale: a SQLite file with N cases (default
 * 1,000,000) shaped like a desk after years of work — 95 % closed with their deadlines met, 5 %
 * open with open deadlines and pending escalation steps, 0.2 % of them due now.
 */
import { rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { createCalendar } from '../src/calendar/calendar.js';
import { dueEscalations, fireEscalation } from '../src/7-cases/deadline-store.js';
import { listCases, listDeadlines } from '../src/7-cases/queries.js';
import { loadConfig } from '../src/config/load.js';
import { systemClock } from '../src/core/clock.js';
import { policyOf } from '../src/policy/deadlines.js';
import { runCli } from '../test/support/cli.js';
import { migratedDb, tempDbPath } from '../test/support/db.js';
import { readStack, stackEnv } from '../test/support/stack.js';

export async function sweepAtScale(
  n: number,
  progress: (msg: string) => void,
): Promise<Record<string, number>> {
  const config = loadConfig({ env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'x' } });
  const calendar = createCalendar(config.calendar);
  const policy = policyOf(config);
  const path = tempDbPath();
  const db = migratedDb(systemClock, path);
  const now = Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  const insertCase = db.prepare(
    `INSERT INTO cases (id, year, seq, stage, resolution, reporter_address, subject, severity, assignee, flags, created_at, updated_at, closed_at)
     VALUES (?, 2026, ?, ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?)`,
  );
  const insertDeadline = db.prepare(
    'INSERT INTO deadlines (case_id, kind, due_at, state, met_at, calendar, policy, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertStep = db.prepare(
    `INSERT INTO escalations (case_id, deadline, step, recipient, fire_at, state) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const t0 = performance.now();
  let open = 0;
  const batch = 50_000;
  for (let start = 0; start < n; start += batch) {
    db.transaction(() => {
      for (let i = start; i < Math.min(n, start + batch); i++) {
        const id = `SEC-2026-${String(i + 1).padStart(7, '0')}`;
        const created = now - (n - i) * 90_000; // one report every 90 s, the newest now
        const isOpen = i % 20 === 0;
        const severity = ['critical', 'high', 'medium', 'low'][i % 4] ?? 'low';
        insertCase.run(
          id,
          i + 1,
          isOpen ? 'verifying' : 'closed',
          isOpen ? null : 'fixed',
          `reporter${i % 1000}@example.net`,
          `Report ${i}`,
          severity,
          isOpen ? 'bob@psirt.test' : null,
          iso(created),
          iso(created),
          isOpen ? null : iso(created + 86_400_000),
        );
        insertDeadline.run(
          id,
          'acknowledge',
          iso(created + 3e5),
          'met',
          iso(created + 1000),
          calendar.id,
          policy,
          iso(created),
        );
        insertDeadline.run(
          id,
          'triage',
          iso(created + 6e5),
          'met',
          iso(created + 2e5),
          calendar.id,
          policy,
          iso(created),
        );
        if (isOpen) {
          open += 1;
          // 0.2 % of the open cases have a verify deadline whose first steps are due now.
          const due = i % 500 === 0 ? now - 1000 : now + 3_600_000 + (i % 1000) * 60_000;
          insertDeadline.run(id, 'verify', iso(due), 'open', null, calendar.id, policy, iso(created));
          config.escalation.ladder.forEach((s, step) =>
            insertStep.run(id, 'verify', step, s.to, iso(due + (step - 1) * 6000), 'pending'),
          );
        } else {
          insertDeadline.run(
            id,
            'verify',
            iso(created + 9e5),
            'met',
            iso(created + 4e5),
            calendar.id,
            policy,
            iso(created),
          );
          insertDeadline.run(
            id,
            'fix',
            iso(created + 1.2e6),
            'met',
            iso(created + 6e5),
            calendar.id,
            policy,
            iso(created),
          );
        }
      }
    })();
    progress(`sweep: ${Math.min(n, start + batch)}/${n} cases written`);
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.exec('ANALYZE');
  const writeMs = performance.now() - t0;

  const s0 = performance.now();
  const ids = dueEscalations(db, new Date());
  let sent = 0;
  for (const id of ids) if (fireEscalation(db, systemClock, config, id) !== null) sent += 1;
  const sweepMs = performance.now() - s0;
  const idle0 = performance.now();
  dueEscalations(db, new Date());
  const idleSweepMs = performance.now() - idle0;

  const l0 = performance.now();
  const rows = listCases(db, { open: true });
  const listMs = performance.now() - l0;
  const d0 = performance.now();
  listDeadlines(db, { now: new Date() });
  const deadlinesMs = performance.now() - d0;
  db.close();

  const env = stackEnv(readStack(), { PSIRT_DATABASE__PATH: path });
  const c0 = performance.now();
  const cli = await runCli(['cases', 'list'], env, 120_000);
  const cliMs = performance.now() - c0;
  if (cli.code !== 0) throw new Error(`psirt cases list failed: ${cli.stderr}`);
  const dbMb = statSync(path).size / 1024 / 1024;
  // A million cases is a gigabyte: never leave it behind.
  rmSync(dirname(path), { recursive: true, force: true });
  return {
    cases: n,
    openCases: open,
    writeSeconds: Math.round(writeMs) / 1000,
    stepsDue: ids.length,
    stepsSent: sent,
    sweepMs: Math.round(sweepMs),
    idleSweepMs: Math.round(idleSweepMs * 10) / 10,
    casesListRows: rows.length,
    casesListMs: Math.round(listMs),
    casesListCliMs: Math.round(cliMs),
    deadlinesMs: Math.round(deadlinesMs),
    dbMb: Math.round(dbMb),
  };
}
