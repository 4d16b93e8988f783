import type { Clock } from '../core/clock.js';
import { mintMessageId } from '../core/message-id.js';
import type { ServiceAlertPayload } from '../8-outbox/kinds/service-alert.js';
import type { Db } from './db.js';
import { appendEvent } from './events.js';
import { sanitizeSubject } from './subject.js';

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

/** Who hears of an alarm and by which route (#15). */
export interface AlarmMail {
  recipients: string[];
  /** Mint domain of the Message-ID (addresses.ts mailDomain). */
  domain: string;
  /** The service's own words for the mail (counts, times, host:port). */
  detail: string;
}

/** The subject of a service alert: the alarm and its state, nothing else. */
function alertSubject(name: ServiceAlertPayload['alarm'], event: 'raised' | 'cleared'): string {
  return sanitizeSubject(`[psirt] ${event === 'raised' ? 'ALERT' : 'ALL CLEAR'}: ${name}`);
}

/** Writes the service-alert outbox row of an alarm's change (inside the caller's transaction). */
function insertAlertRow(
  db: Db,
  clock: Clock,
  alarm: AlarmRow,
  event: 'raised' | 'cleared',
  mail: AlarmMail,
): number | null {
  const payload: ServiceAlertPayload = {
    template: 'service-alert',
    autoSubmitted: 'auto-generated',
    alarm: alarm.name as ServiceAlertPayload['alarm'],
    event,
    since: alarm.raised_at,
    clearedAt: alarm.cleared_at,
    detail: mail.detail.slice(0, 500),
  };
  const info = db
    .prepare(
      `INSERT INTO outbox (case_id, kind, dedupe_key, recipients, message_id, subject, payload, created_at, route)
       VALUES (NULL, 'service-alert', ?, ?, ?, ?, ?, ?, 'fallback') ON CONFLICT (dedupe_key) DO NOTHING`,
    )
    .run(
      `alarm:${String(alarm.id)}:${event}`,
      JSON.stringify([...new Set(mail.recipients)]),
      mintMessageId('psirt', `alarm-${event}`, mail.domain),
      alertSubject(payload.alarm, event),
      JSON.stringify(payload),
      clock.now().toISOString(),
    );
  return info.changes > 0 ? Number(info.lastInsertRowid) : null;
}

/**
 * Raises alarm `name` and writes its one alert mail in the same IMMEDIATE transaction (#15), so
 * of several processes that see the same trouble exactly one alerts. `since` backdates the alarm
 * to when the trouble began (the first lost probe, the first refused connection). Returns the
 * outbox row id, or null when the alarm was open already.
 */
export function raiseAlarmWithMail(
  db: Db,
  clock: Clock,
  name: ServiceAlertPayload['alarm'],
  since: Date,
  mail: AlarmMail,
): number | null {
  // Open already (every look while the trouble lasts): no write lock taken.
  if (openAlarm(db, name) !== null) return null;
  return db
    .transaction((): number | null => {
      const row = raiseAlarm(db, { now: () => since }, name, mail.detail);
      if (row === null) return null;
      appendEvent(db, clock, {
        caseId: null,
        type: 'service.alarm-raised',
        actor: 'system',
        data: { alarm: name, since: row.raised_at },
      });
      return insertAlertRow(db, clock, row, 'raised', mail);
    })
    .immediate();
}

/**
 * Clears alarm `name` and writes its one all-clear mail in the same IMMEDIATE transaction.
 * Returns the outbox row id, or null when the alarm was not open.
 */
export function clearAlarmWithMail(
  db: Db,
  clock: Clock,
  name: ServiceAlertPayload['alarm'],
  mail: AlarmMail,
): number | null {
  if (openAlarm(db, name) === null) return null;
  return db
    .transaction((): number | null => {
      const row = clearAlarm(db, clock, name);
      if (row === null) return null;
      appendEvent(db, clock, {
        caseId: null,
        type: 'service.alarm-cleared',
        actor: 'system',
        data: { alarm: name, since: row.raised_at, clearedAt: row.cleared_at },
      });
      return insertAlertRow(db, clock, row, 'cleared', mail);
    })
    .immediate();
}
