import { describe, expect, it } from 'vitest';
import { createCalendar } from '../../../src/calendar/calendar.js';
import { openDatabase, type Db } from '../../../src/7-cases/db.js';
import { verifyEventChain } from '../../../src/7-cases/events.js';
import { loadConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { watchPublicChannel } from '../../../src/roles/escalation.js';
import { migratedDb, tempDbPath } from '../../support/db.js';
import { settableClock } from '../../support/ingest.js';
import { NOW } from '../../support/mail-fixtures.js';

/**
 * Issue #12 Deliver 5 on a real SQLite file: the public-channel watch as the escalation role's
 * sweep runs it, with two workers (two connections) on the same file.
 */
const base = loadConfig({ env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'x' } });
const calendar = createCalendar(base.calendar);
const DAY = 86_400_000;
const FPR = '70391E1F60DD1FCF4E665A800F2409846A82D91C';
const inDays = (d: number): Date => new Date(NOW.getTime() + d * DAY);

function withExpires(expires: Date): Config {
  return { ...base, public_channel: { ...base.public_channel, expires: expires.toISOString() } };
}

interface AlertMail {
  case_id: string | null;
  recipients: string;
  subject: string;
  payload: string;
}
const alertMails = (db: Db): AlertMail[] =>
  db
    .prepare(
      "SELECT case_id, recipients, subject, payload FROM outbox WHERE kind = 'channel-expiry' ORDER BY id",
    )
    .all() as AlertMail[];

describe('watchPublicChannel() (#12)', () => {
  const clock = settableClock(NOW.toISOString());

  it('two workers sweeping twice write one mail per subject and date, to the accountable role', () => {
    const path = tempDbPath();
    migratedDb(clock, path).close();
    const a = openDatabase(path);
    const b = openDatabase(path);
    const config = withExpires(inDays(10));
    const signingKey = { fingerprint: FPR, expires: inDays(20) };
    const sent = [a, b, a, b].flatMap((db) =>
      watchPublicChannel({ config, db, clock, calendar, signingKey }),
    );
    expect(sent).toHaveLength(2);
    const mails = alertMails(a);
    expect(mails.map((m) => [m.case_id, m.recipients, JSON.parse(m.payload) as unknown])).toEqual([
      [
        null,
        '["lead@psirt.test"]',
        {
          template: 'channel-expiry',
          autoSubmitted: 'auto-generated',
          subject: 'security.txt',
          expiresAt: '2026-12-11T12:00:00.000Z',
        },
      ],
      [
        null,
        '["lead@psirt.test"]',
        {
          template: 'channel-expiry',
          autoSubmitted: 'auto-generated',
          subject: `team-key:${FPR}`,
          expiresAt: '2026-12-21T12:00:00.000Z',
        },
      ],
    ]);
    expect(mails.map((m) => m.subject)).toEqual([
      'Public channel: security.txt expires on 2026-12-11',
      'Public channel: the signing team key expires on 2026-12-21',
    ]);
    const alerts = a
      .prepare('SELECT subject, expires_at, outbox_id FROM channel_alerts ORDER BY subject')
      .all();
    expect(alerts).toHaveLength(2);
    expect(alerts.every((r) => (r as { outbox_id: number | null }).outbox_id !== null)).toBe(true);
    expect(a.prepare("SELECT count(*) AS n FROM events WHERE type = 'channel.expiry-alerted'").get()).toEqual(
      { n: 2 },
    );
    expect(verifyEventChain(a).ok).toBe(true);
    a.close();
    b.close();
  });

  it('a new Expires is alerted again when its own time comes', () => {
    const db = migratedDb(clock);
    const deps = { db, clock, calendar, signingKey: undefined };
    expect(watchPublicChannel({ ...deps, config: withExpires(inDays(10)) })).toHaveLength(1);
    // Renewed a year ahead: not due yet, nothing new.
    const renewed = withExpires(inDays(365));
    expect(watchPublicChannel({ ...deps, config: renewed })).toEqual([]);
    // 340 days later the renewed date is 25 days ahead: its own alert, once.
    clock.set(inDays(340));
    expect(watchPublicChannel({ ...deps, config: renewed })).toHaveLength(1);
    expect(watchPublicChannel({ ...deps, config: renewed })).toEqual([]);
    clock.set(NOW);
    expect(alertMails(db).map((m) => (JSON.parse(m.payload) as { expiresAt: string }).expiresAt)).toEqual([
      inDays(10).toISOString(),
      inDays(365).toISOString(),
    ]);
  });

  it('writes nothing for an Expires 31 days ahead, a key without expiry, or no Expires', () => {
    const db = migratedDb(clock);
    const signingKey = { fingerprint: FPR, expires: null };
    watchPublicChannel({ db, clock, calendar, signingKey, config: withExpires(inDays(31)) });
    watchPublicChannel({ db, clock, calendar, signingKey, config: base });
    expect(alertMails(db)).toEqual([]);
  });
});
