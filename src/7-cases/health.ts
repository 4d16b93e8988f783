import { hostname } from 'node:os';
import { fail, pass, type CheckResult } from '../core/check.js';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { openExisting, type Db } from './db.js';
import { migrationStatus, type Migration } from './migrate.js';

/** Opens the database read-only, checks its integrity and that no migration is pending. */
export function checkDatabase(path: string, migrations: readonly Migration[], quick: boolean): CheckResult {
  const name = 'sqlite';
  const opened = openExisting(path);
  if (opened.state === 'missing') {
    return fail(
      name,
      `${path} does not exist`,
      'run `psirt migrate` (or `psirt start`, which migrates) to create it',
    );
  }
  const fix = 'check the file and its permissions (database.path)';
  if (opened.state === 'unreadable') return fail(name, `${path}: ${describeError(opened.error)}`, fix);
  const { db } = opened;
  try {
    if (!quick) {
      const verdict = db.pragma('quick_check', { simple: true });
      if (verdict !== 'ok')
        return fail(name, `${path} is damaged: ${String(verdict)}`, 'restore the latest backup');
    }
    const status = migrationStatus(db, migrations);
    if (status.pending.length > 0) {
      return fail(
        name,
        `${path}: ${status.pending.length} migration(s) pending (${status.pending.map((m) => m.file).join(', ')})`,
        'run `psirt migrate`',
      );
    }
    const cases = (db.prepare('SELECT count(*) AS n FROM cases').get() as { n: number }).n;
    return pass(name, `${path}: schema version ${status.applied.length}, ${cases} case(s)`);
  } catch (err) {
    return fail(name, `${path}: ${describeError(err)}`, fix);
  } finally {
    db.close();
  }
}

export interface Heartbeat {
  role: string;
  host: string;
  pid: number;
  started_at: string;
  beat_at: string;
}

/** Records that `role` in this process is alive. Old rows of this host's dead processes are removed. */
export function writeHeartbeat(db: Db, clock: Clock, role: string, startedAt: Date): void {
  const now = clock.now().toISOString();
  db.transaction(() => {
    db.prepare(
      `INSERT INTO heartbeats (role, host, pid, started_at, beat_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (role, host, pid) DO UPDATE SET beat_at = excluded.beat_at`,
    ).run(role, hostname(), process.pid, startedAt.toISOString(), now);
  }).immediate();
}

export function removeHeartbeat(db: Db, role: string): void {
  db.prepare('DELETE FROM heartbeats WHERE role = ? AND host = ? AND pid = ?').run(
    role,
    hostname(),
    process.pid,
  );
}

/** The service is healthy when every role on this host beat within `maxAgeSeconds`. */
export function checkHeartbeats(path: string, clock: Clock, maxAgeSeconds: number): CheckResult {
  const name = 'heartbeat';
  const opened = openExisting(path);
  if (opened.state === 'missing') return fail(name, `${path} does not exist`, 'check database.path');
  if (opened.state === 'unreadable') return fail(name, describeError(opened.error), 'check database.path');
  const { db } = opened;
  try {
    const rows = db
      .prepare('SELECT * FROM heartbeats WHERE host = ? ORDER BY role')
      .all(hostname()) as Heartbeat[];
    if (rows.length === 0)
      return fail(
        name,
        `no running role has written a heartbeat on ${hostname()}`,
        'start the service: `psirt start`',
      );
    const now = clock.now().getTime();
    const latest = new Map<string, Heartbeat>();
    for (const r of rows) {
      const cur = latest.get(r.role);
      if (!cur || cur.beat_at < r.beat_at) latest.set(r.role, r);
    }
    const stale = [...latest.values()].filter((r) => now - Date.parse(r.beat_at) > maxAgeSeconds * 1000);
    if (stale.length > 0) {
      return fail(
        name,
        `no heartbeat for ${maxAgeSeconds}s from: ${stale.map((r) => `${r.role} (pid ${r.pid}, last ${r.beat_at})`).join(', ')}`,
        'look at the service log; restart it if it hangs',
      );
    }
    return pass(name, `alive: ${[...latest.keys()].join(', ')}`);
  } catch (err) {
    return fail(name, describeError(err), 'check database.path');
  } finally {
    db.close();
  }
}
