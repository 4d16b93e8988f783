import type { Clock } from '../core/clock.js';
import type { Db } from './db.js';

/**
 * The service's alarms about itself (#15, migration 0017 `alarms`): at most one open row per
 * name. `detail` is the service's own wording (counts, times, host:port), never mail content,
 * a subject or an address.
 */

export interface AlarmRow {
  id: number;
  name: string;
  raised_at: string;
  cleared_at: string | null;
  detail: string;
}

/** Opens alarm `name` unless it is open already; returns the new row, or null when it was open. */
export function raiseAlarm(db: Db, clock: Clock, name: string, detail: string): AlarmRow | null {
  const info = db
    .prepare(
      `INSERT INTO alarms (name, raised_at, detail) VALUES (?, ?, ?)
       ON CONFLICT (name) WHERE cleared_at IS NULL DO NOTHING`,
    )
    .run(name, clock.now().toISOString(), detail);
  if (info.changes === 0) return null;
  return db.prepare('SELECT * FROM alarms WHERE id = ?').get(info.lastInsertRowid) as AlarmRow;
}

/** Closes the open alarm `name`; returns the closed row, or null when none was open. */
export function clearAlarm(db: Db, clock: Clock, name: string): AlarmRow | null {
  const open = openAlarm(db, name);
  if (open === null) return null;
  const at = clock.now().toISOString();
  db.prepare('UPDATE alarms SET cleared_at = ? WHERE id = ? AND cleared_at IS NULL').run(at, open.id);
  return { ...open, cleared_at: at };
}

export function openAlarm(db: Db, name: string): AlarmRow | null {
  return (
    (db.prepare('SELECT * FROM alarms WHERE name = ? AND cleared_at IS NULL').get(name) as
      AlarmRow | undefined) ?? null
  );
}

export function openAlarms(db: Db): AlarmRow[] {
  return db.prepare('SELECT * FROM alarms WHERE cleared_at IS NULL ORDER BY name').all() as AlarmRow[];
}

/** Records that `name` made progress now (`service_marks`). */
export function markProgress(db: Db, clock: Clock, name: string): void {
  db.prepare(
    `INSERT INTO service_marks (name, at) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET at = excluded.at`,
  ).run(name, clock.now().toISOString());
}

/** When `name` last made progress, or null when never. */
export function lastProgress(db: Db, name: string): Date | null {
  const row = db.prepare('SELECT at FROM service_marks WHERE name = ?').get(name) as
    { at: string } | undefined;
  return row === undefined ? null : new Date(row.at);
}
