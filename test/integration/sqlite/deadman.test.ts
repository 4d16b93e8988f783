import { describe, expect, it } from 'vitest';
import { clearAlarm, markProgress, openAlarms, raiseAlarm } from '../../../src/7-cases/alarm-store.js';
import { openDatabase, type Db } from '../../../src/7-cases/db.js';
import { recordProbeReturn } from '../../../src/7-cases/probe-store.js';
import { loadOutbox } from '../../../src/7-cases/outbox-store.js';
import { loadConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { scanProbeHeader } from '../../../src/core/raw-headers.js';
import { renderOutbox } from '../../../src/8-outbox/deliver.js';
import {
  INTAKE_SYNCED,
  parseProbeHeader,
  PROBE_HEADER,
  probeMaxAgeSeconds,
} from '../../../src/policy/deadman.js';
import { checkDeadman } from '../../../src/roles/deadman.js';
import { migratedDb, tempDbPath } from '../../support/db.js';
import { settableClock } from '../../support/ingest.js';
import { join } from 'node:path';
import { createCalendar } from '../../../src/calendar/calendar.js';
import { fixedClock } from '../../../src/core/clock.js';
import { createLogger } from '../../../src/core/log.js';
import { loadTeamKeys } from '../../../src/pgp/keyring.js';
import { createSealer } from '../../../src/pgp/sealer.js';
import type { DeliverDeps } from '../../../src/8-outbox/deliver.js';
import { ReportCache } from '../../../src/8-outbox/report-view.js';
import { createSmtpTransport } from '../../../src/8-outbox/smtp-transport.js';
import { loadTemplates } from '../../../src/8-outbox/templates.js';
import { REPO } from '../../support/stack.js';
import { testVault } from '../../support/vault.js';
import { NOW } from '../../support/mail-fixtures.js';

/**
 * Issue #15 Deliver 3 on a real SQLite file: the dead-man's state machine as the escalation role
 * runs it (checkDeadman), with an injected clock and two processes (two connections).
 */
const base = loadConfig({ env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'x' } });
const config: Config = {
  ...base,
  deadman: {
    ...base.deadman,
    enabled: true,
    interval_seconds: 60,
    window_seconds: 30,
    intake_stalled_after_seconds: 120,
  },
};
const T0 = NOW.toISOString();
const at = (s: number): string => new Date(Date.parse(T0) + s * 1000).toISOString();

interface Mail {
  kind: string;
  recipients: string;
  payload: string;
}
const mails = (db: Db, kind: string): Mail[] =>
  db.prepare('SELECT kind, recipients, payload FROM outbox WHERE kind = ? ORDER BY id').all(kind) as Mail[];
const alerts = (db: Db): { alarm: string; event: string }[] =>
  mails(db, 'service-alert').map((m) => {
    const p = JSON.parse(m.payload) as { alarm: string; event: string };
    return { alarm: p.alarm, event: p.event };
  });

/** The probe header of the newest probe row, as the mailer would send it. */
function lastProbeHeader(db: Db): string {
  const m = mails(db, 'mail-probe').at(-1);
  if (m === undefined) throw new Error('no probe');
  return (JSON.parse(m.payload) as { header: string }).header;
}

/** The Message-ID minted for the newest probe (the one its mail carries). */
function lastProbeMessageId(db: Db): string {
  return (
    db.prepare("SELECT message_id FROM outbox WHERE kind = 'mail-probe' ORDER BY id DESC LIMIT 1").get() as {
      message_id: string;
    }
  ).message_id;
}

const MAX_AGE = probeMaxAgeSeconds(config.deadman.window_seconds, config.deadman.interval_seconds);
/** The mail facts of the newest probe itself, as the intake scans them. */
const asProbe = (db: Db) => ({ messageId: lastProbeMessageId(db), maxAgeSeconds: MAX_AGE });

describe('checkDeadman() (#15)', () => {
  it('sends one probe per interval, even with two processes looking', () => {
    const path = tempDbPath();
    const db = migratedDb(undefined, path);
    const other = openDatabase(path);
    const clock = settableClock(T0);
    const vault = testVault();
    const since = clock.now();
    checkDeadman({ config, db, clock, vault }, since);
    checkDeadman({ config, db: other, clock, vault }, since);
    clock.set(at(59));
    checkDeadman({ config, db: other, clock, vault }, since);
    expect(mails(db, 'mail-probe')).toHaveLength(1);
    clock.set(at(60));
    checkDeadman({ config, db, clock, vault }, since);
    checkDeadman({ config, db: other, clock, vault }, since);
    expect(mails(db, 'mail-probe')).toHaveLength(2);
    expect(JSON.parse(mails(db, 'mail-probe')[0]!.recipients)).toEqual([
      config.organisation.security_address,
    ]);
  });

  it('a probe not back within the window raises one alert to on-call; a later probe back sends one all-clear', () => {
    const db = migratedDb();
    const clock = settableClock(T0);
    const vault = testVault();
    const since = clock.now();
    const look = (s: number) => {
      clock.set(at(s));
      markProgress(db, clock, INTAKE_SYNCED);
      checkDeadman({ config, db, clock, vault }, since);
    };
    look(0);
    look(29);
    expect(alerts(db)).toEqual([]);
    look(31);
    look(60); // a second probe goes out; the first is still lost
    look(95);
    expect(alerts(db)).toEqual([{ alarm: 'mail-roundtrip', event: 'raised' }]);
    expect(JSON.parse(mails(db, 'service-alert')[0]!.recipients)).toEqual([config.escalation.oncall_address]);
    expect(openAlarms(db).map((a) => a.name)).toEqual(['mail-roundtrip']);
    // The second probe comes back: the round trip works again.
    const claim = parseProbeHeader(lastProbeHeader(db));
    expect(claim).not.toBeNull();
    expect(recordProbeReturn(db, clock, vault, claim!, asProbe(db))).toBe('returned');
    look(96);
    look(97);
    expect(alerts(db)).toEqual([
      { alarm: 'mail-roundtrip', event: 'raised' },
      { alarm: 'mail-roundtrip', event: 'cleared' },
    ]);
    expect(openAlarms(db)).toEqual([]);
  });

  it('a probe held back by a relay that is down is not a lost round trip; mailed late, its window starts then (#15 trial)', () => {
    const db = migratedDb();
    const clock = settableClock(T0);
    const vault = testVault();
    const since = clock.now();
    const look = (s: number) => {
      clock.set(at(s));
      markProgress(db, clock, INTAKE_SYNCED);
      checkDeadman({ config, db, clock, vault }, since);
    };
    look(0);
    raiseAlarm(db, clock, 'relay-down', '127.0.0.1:25 unusable');
    look(31);
    look(50);
    expect(alerts(db)).toEqual([]);
    // The relay takes the probe at 55 s and the alarm clears: 30 s of window from then.
    db.prepare("UPDATE outbox SET state = 'sent', sent_at = ? WHERE kind = 'mail-probe'").run(at(55));
    clearAlarm(db, clock, 'relay-down');
    look(80);
    expect(alerts(db)).toEqual([]);
    look(86);
    expect(alerts(db)).toEqual([{ alarm: 'mail-roundtrip', event: 'raised' }]);
  });

  it('an intake with no complete sync for intake_stalled_after_seconds raises one alert, and a sync clears it', () => {
    const db = migratedDb();
    const clock = settableClock(T0);
    const vault = testVault();
    const cfg: Config = { ...config, deadman: { ...config.deadman, window_seconds: 10_000 } };
    const since = clock.now();
    markProgress(db, clock, INTAKE_SYNCED);
    for (const s of [60, 121, 180]) {
      clock.set(at(s));
      checkDeadman({ config: cfg, db, clock, vault }, since);
    }
    expect(alerts(db)).toEqual([{ alarm: 'intake-stalled', event: 'raised' }]);
    markProgress(db, clock, INTAKE_SYNCED);
    checkDeadman({ config: cfg, db, clock, vault }, since);
    checkDeadman({ config: cfg, db, clock, vault }, since);
    expect(alerts(db)).toEqual([
      { alarm: 'intake-stalled', event: 'raised' },
      { alarm: 'intake-stalled', event: 'cleared' },
    ]);
  });

  describe('when a mail carries a probe header', () => {
    it('a forged MAC, a made-up token or another installation’s key is refused (ordinary mail), a copy of a returned probe is "again"', () => {
      const db = migratedDb();
      const clock = settableClock(T0);
      const vault = testVault();
      checkDeadman({ config, db, clock, vault }, clock.now());
      const header = lastProbeHeader(db);
      const claim = parseProbeHeader(header)!;
      const forgedTag = {
        ...claim,
        tag: `${claim.tag.slice(0, -2)}AA` === claim.tag ? 'B'.repeat(43) : `${claim.tag.slice(0, -2)}AA`,
      };
      expect(recordProbeReturn(db, clock, vault, forgedTag, asProbe(db))).toBe('refused');
      expect(recordProbeReturn(db, clock, testVault(), claim, asProbe(db))).toBe('refused');
      const otherToken = parseProbeHeader(header.replace(claim.token, 'A'.repeat(24)))!;
      expect(recordProbeReturn(db, clock, vault, otherToken, asProbe(db))).toBe('refused');
      expect(recordProbeReturn(db, clock, vault, claim, asProbe(db))).toBe('returned');
      expect(recordProbeReturn(db, clock, vault, claim, asProbe(db))).toBe('again');
    });

    it('a valid header copied into a mail with another Message-ID is "replayed", a probe far past its window is "stale": both ordinary mail, the probe still out', () => {
      const db = migratedDb();
      const clock = settableClock(T0);
      const vault = testVault();
      checkDeadman({ config, db, clock, vault }, clock.now());
      const claim = parseProbeHeader(lastProbeHeader(db))!;
      const returned = () =>
        (db.prepare('SELECT returned_at FROM probes').get() as { returned_at: string | null }).returned_at;
      for (const messageId of ['report-1@reporter.test', null, `${lastProbeMessageId(db)}.x`])
        expect(recordProbeReturn(db, clock, vault, claim, { messageId, maxAgeSeconds: MAX_AGE })).toBe(
          'replayed',
        );
      expect(returned()).toBeNull();
      clock.set(at(MAX_AGE + 1));
      expect(recordProbeReturn(db, clock, vault, claim, asProbe(db))).toBe('stale');
      expect(returned()).toBeNull();
      clock.set(at(MAX_AGE));
      expect(recordProbeReturn(db, clock, vault, claim, asProbe(db))).toBe('returned');
      // Once back, the copy in another mail is still ordinary mail; a second copy of the probe itself is 'again'.
      expect(
        recordProbeReturn(db, clock, vault, claim, {
          messageId: 'report-2@reporter.test',
          maxAgeSeconds: MAX_AGE,
        }),
      ).toBe('replayed');
      expect(recordProbeReturn(db, clock, vault, claim, asProbe(db))).toBe('again');
    });

    it('the rendered probe carries the header the intake reads, and nothing else of ours', async () => {
      const db = migratedDb();
      const clock = settableClock(T0);
      const teamKeys = await loadTeamKeys(config.pgp, fixedClock(NOW));
      const deps: DeliverDeps = {
        config,
        db,
        clock,
        log: createLogger('silent'),
        templates: loadTemplates(join(REPO, 'config', 'templates')),
        sealer: createSealer(teamKeys[0]!),
        transport: createSmtpTransport(config.smtp), // never connects: rendering sends nothing
        teamKeys,
        staffKeys: new Map(),
        calendar: createCalendar(config.calendar),
        reports: new ReportCache(),
        vault: testVault(),
      };
      checkDeadman({ config, db, clock, vault: deps.vault }, clock.now());
      const id = (db.prepare("SELECT id FROM outbox WHERE kind = 'mail-probe'").get() as { id: number }).id;
      const { mail } = await renderOutbox(deps, loadOutbox(db, id)!);
      expect(mail.headers[PROBE_HEADER]).toBe(lastProbeHeader(db));
      const scanned = scanProbeHeader(
        Buffer.from(`${PROBE_HEADER}: ${lastProbeHeader(db)}\r\nSubject: x\r\n\r\nbody`),
      );
      expect(scanned).toBe(lastProbeHeader(db));
    });
  });
});
