import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createCalendar } from '../../../src/calendar/calendar.js';
import { clearAlarmWithMail, raiseAlarmWithMail } from '../../../src/7-cases/alarm-store.js';
import type { Db } from '../../../src/7-cases/db.js';
import { loadConfig } from '../../../src/config/load.js';
import { STATUS_EVENTS, type Config } from '../../../src/config/schema.js';
import { systemClock } from '../../../src/core/clock.js';
import { createLogger } from '../../../src/core/log.js';
import { createSmtpTransport } from '../../../src/8-outbox/smtp-transport.js';
import { loadTemplates } from '../../../src/8-outbox/templates.js';
import { loadTeamKeys, type TeamKey } from '../../../src/pgp/keyring.js';
import { createSealer } from '../../../src/pgp/sealer.js';
import {
  COMPOSER_TRIES,
  deliverOutbox,
  TransientSendError,
  type DeliverDeps,
} from '../../../src/8-outbox/deliver.js';
import { ReportCache } from '../../../src/8-outbox/report-view.js';
import { ComposerUnavailable, createComposePool } from '../../../src/roles/compose-pool.js';
import { testVault } from '../../support/vault.js';
import { reportCase } from '../../support/report-case.js';
import { withoutKey } from '../../support/builders.js';
import { migratedDb } from '../../support/db.js';
import { mailById, repliesTo } from '../../support/service.js';
import { simpleParser } from 'mailparser';
import { freePort } from '../../support/ports.js';
import { eventually } from '../../support/eventually.js';
import { address, REPO, stackEnv } from '../../support/stack.js';
import { decryptAs } from '../../support/pgp-mail.js';

const stack = inject('stack');
let config: Config;
let teamKeys: TeamKey[];
const vault = testVault();

beforeAll(async () => {
  config = loadConfig({ env: stackEnv(stack) });
  teamKeys = await loadTeamKeys(config.pgp, systemClock);
});

const staffKey = (who: string) => readFileSync(join(REPO, `test/fixtures/keys/${who}.pub.asc`), 'utf8');

function deps(db: Db, overrides: Partial<Config['smtp']> = {}, keyed = ['alice']): DeliverDeps {
  const team = teamKeys[0] as TeamKey;
  return {
    config,
    db,
    clock: systemClock,
    log: createLogger('silent'),
    templates: loadTemplates(join(REPO, 'config', 'templates')),
    sealer: createSealer(team),
    transport: createSmtpTransport({ ...config.smtp, ...overrides }),
    teamKeys,
    staffKeys: new Map(keyed.map((who) => [`${who}@psirt.test`, staffKey(who)])),
    calendar: createCalendar(config.calendar),
    reports: new ReportCache(),
    vault,
  };
}

/** A new case from `sender` with its outbox rows (on `cfg`); returns the acknowledgment row id. */
function caseFrom(db: Db, sender: string, messageId: string, cfg: Config = config): number {
  reportCase(db, cfg, vault, sender, messageId);
  return (
    db.prepare("SELECT id FROM outbox WHERE kind = 'acknowledgment' ORDER BY id DESC LIMIT 1").get() as {
      id: number;
    }
  ).id;
}

/** The test profile with bob's key_file (and fingerprint) removed: he is the one keyless member. */
const bobKeyless = (c: Config): Config => ({
  ...c,
  staff: c.staff.map((s) => (s.address === 'bob@psirt.test' ? withoutKey(s) : s)),
});

/** Opens a case and delivers bob's notification (bob has no key_file); returns it from his mailbox. */
async function notifyBob(allowCleartext: boolean): Promise<Buffer> {
  const db = migratedDb(systemClock);
  const cfg = { ...bobKeyless(config), notifications: { allow_cleartext: allowCleartext } };
  caseFrom(
    db,
    'reporter1@psirt.test',
    `${Date.now()}.${allowCleartext ? 'clear' : 'withheld'}@reporter.test`,
    cfg,
  );
  // #16: the keyless member's notification is a row of its own, apart from the keyed members' one.
  const note = db
    .prepare("SELECT id, message_id FROM outbox WHERE kind = 'staff-notification' AND recipients = ?")
    .get('["bob@psirt.test"]') as {
    id: number;
    message_id: string;
  };
  const d = { ...deps(db), config: cfg };
  await deliverOutbox(d, note.id);
  d.transport.close();
  return eventually(async () => (await mailById(stack, 'bob', note.message_id))[0], {
    what: 'bob notification',
  });
}

const row = (db: Db, id: number) =>
  db.prepare('SELECT state, attempts, last_error FROM outbox WHERE id = ?').get(id) as {
    state: string;
    attempts: number;
    last_error: string | null;
  };

describe('deliverOutbox() through the real Postfix', () => {
  it('sends the acknowledgment, marks the row sent and the acknowledge deadline met', async () => {
    const db = migratedDb(systemClock);
    const id = `${Date.now()}.deliver@reporter.test`;
    const ack = caseFrom(db, 'reporter1@psirt.test', id);
    const d = deps(db);
    expect(await deliverOutbox(d, ack)).toEqual([]);
    d.transport.close();
    expect(row(db, ack).state).toBe('sent');
    expect(db.prepare("SELECT state FROM deadlines WHERE kind = 'acknowledge'").get()).toEqual({
      state: 'met',
    });
    await eventually(async () => (await repliesTo(stack, 'reporter1', id))[0], {
      what: 'the acknowledgment',
    });
  });

  it('sends a staff member without a key only "a case arrived", never the report in clear', async () => {
    const mail = await notifyBob(false);
    const text = (await simpleParser(mail)).text ?? '';
    expect(text).toContain('not mailed to you in clear');
    expect(text).not.toContain('body');
  });

  it('sends the report in clear (signed) to a staff member without a key when notifications.allow_cleartext is on', async () => {
    const mail = await notifyBob(true);
    expect(mail.toString()).toContain('multipart/signed');
    expect((await simpleParser(mail)).text).toContain('----- report -----');
  });

  describe('a notification to three staff members with keys (#16)', () => {
    const STAFF = ['alice@psirt.test', 'bob@psirt.test', 'carol@psirt.test'];
    /** Postfix's queue id in its Received: line: one per SMTP transaction it took. */
    const queueId = (raw: Buffer): string | undefined =>
      /\(Postfix\) with E?SMTP id ([0-9A-Za-z]+)/.exec(raw.toString('latin1'))?.[1];

    it('is one outbox row and one SMTP transaction whose one message each of the three keys decrypts', async () => {
      const db = migratedDb(systemClock);
      caseFrom(db, 'reporter1@psirt.test', `${Date.now()}.grouped@reporter.test`);
      const notes = db
        .prepare("SELECT id, recipients, message_id FROM outbox WHERE kind = 'staff-notification'")
        .all() as { id: number; recipients: string; message_id: string }[];
      expect(notes.map((n) => JSON.parse(n.recipients) as string[])).toEqual([STAFF]);
      const note = notes[0]!;
      const d = deps(db, {}, ['alice', 'bob', 'carol']);
      const sendMail = vi.spyOn(d.transport, 'sendMail');
      expect(await deliverOutbox(d, note.id)).toEqual([]);
      d.transport.close();
      expect(sendMail).toHaveBeenCalledTimes(1);
      expect(sendMail.mock.calls[0]?.[0]).toMatchObject({ envelope: { to: STAFF } });
      expect(row(db, note.id)).toMatchObject({ state: 'sent', attempts: 1, last_error: null });
      const copies = await Promise.all(
        ['alice', 'bob', 'carol'].map((who) =>
          eventually(async () => (await mailById(stack, who, note.message_id))[0], { what: `${who}'s copy` }),
        ),
      );
      // One transaction: Postfix queued one message for the three mailboxes.
      expect(new Set(copies.map(queueId)).size).toBe(1);
      expect(queueId(copies[0]!)).toBeDefined();
      for (const [i, who] of ['alice', 'bob', 'carol'].entries()) {
        const raw = copies[i]!;
        expect(raw.toString()).toContain('multipart/encrypted');
        expect(raw.toString()).not.toContain('----- report -----');
        const { text, status } = decryptAs(who, raw);
        expect(status).toContain('DECRYPTION_OKAY');
        expect(text).toContain('----- report -----');
      }
      expect(
        db.prepare("SELECT data ->> '$.recipients' AS n FROM events WHERE type = 'outbox.sent'").all(),
      ).toEqual([{ n: 3 }]);
    });

    it('a member the relay refuses (5xx at RCPT TO) gets a failed row of their own and staff an alert; the others get it once', async () => {
      const db = migratedDb(systemClock);
      // A fourth keyed member whose mailbox the relay does not know: Postfix refuses it with 550.
      const ghost = { ...config.staff[1]!, name: 'Ghost', address: 'no-such-staff@psirt.test' };
      const cfg = { ...config, staff: [...config.staff, ghost] };
      caseFrom(db, 'reporter1@psirt.test', `${Date.now()}.refused@reporter.test`, cfg);
      const note = db
        .prepare("SELECT id, message_id FROM outbox WHERE kind = 'staff-notification'")
        .get() as {
        id: number;
        message_id: string;
      };
      const d = {
        ...deps(db, {}, ['alice', 'bob', 'carol']),
        config: cfg,
      };
      d.staffKeys = new Map([...d.staffKeys, ['no-such-staff@psirt.test', staffKey('bob')]]);
      const queued = await deliverOutbox(d, note.id);
      d.transport.close();
      // Sent to the three who took it; the refused one is off the row.
      expect(db.prepare('SELECT state, recipients FROM outbox WHERE id = ?').get(note.id)).toEqual({
        state: 'sent',
        recipients: JSON.stringify(STAFF),
      });
      const own = db
        .prepare('SELECT id, state, recipients, last_error FROM outbox WHERE dedupe_key LIKE ?')
        .get('notify:%:keyed:rcpt:no-such-staff@psirt.test') as {
        id: number;
        state: string;
        recipients: string;
        last_error: string;
      };
      expect(own).toMatchObject({ state: 'failed', recipients: '["no-such-staff@psirt.test"]' });
      expect(own.last_error).toMatch(/^no-such-staff@psirt\.test: 55\d/);
      expect(queued).toHaveLength(1);
      expect(
        db
          .prepare("SELECT kind, payload ->> '$.failedOutboxId' AS failed FROM outbox WHERE id = ?")
          .get(queued[0]),
      ).toEqual({
        kind: 'delivery-alert',
        failed: own.id,
      });
      for (const who of ['alice', 'bob', 'carol'])
        expect(
          await eventually(
            async () => {
              const got = await mailById(stack, who, note.message_id);
              return got.length > 0 ? got : undefined;
            },
            { what: `${who}'s copy` },
          ),
        ).toHaveLength(1);
    });
  });

  describe('when one member’s key cannot be encrypted to (expired) (#16)', () => {
    it('seals the mail apart: the others get theirs, only that member’s own row fails, with an alert', async () => {
      const db = migratedDb(systemClock);
      caseFrom(db, 'reporter1@psirt.test', `${Date.now()}.expired@reporter.test`);
      const note = db.prepare("SELECT id FROM outbox WHERE kind = 'staff-notification'").get() as {
        id: number;
      };
      const d = deps(db, {}, ['alice', 'bob', 'carol']);
      // bob's configured key has expired since the service started.
      d.staffKeys = new Map([...d.staffKeys, ['bob@psirt.test', staffKey('expired')]]);
      await expect(deliverOutbox(d, note.id)).rejects.toBeInstanceOf(TransientSendError);
      const rows = () =>
        db
          .prepare(
            "SELECT id, recipients, state, message_id FROM outbox WHERE kind = 'staff-notification' ORDER BY id",
          )
          .all() as { id: number; recipients: string; state: string; message_id: string }[];
      expect(rows().map((r) => [r.recipients, r.state])).toEqual([
        ['["alice@psirt.test"]', 'pending'],
        ['["bob@psirt.test"]', 'pending'],
        ['["carol@psirt.test"]', 'pending'],
      ]);
      const alerts: number[] = [];
      for (const r of rows()) alerts.push(...(await deliverOutbox(d, r.id)));
      d.transport.close();
      const [alice, bob, carol] = rows();
      expect([alice!.state, bob!.state, carol!.state]).toEqual(['sent', 'failed', 'sent']);
      expect(row(db, bob!.id).last_error).toMatch(/could not build the mail: .*expired/i);
      expect(alerts).toHaveLength(1);
      expect(db.prepare('SELECT kind FROM outbox WHERE id = ?').get(alerts[0])).toEqual({
        kind: 'delivery-alert',
      });
      for (const [who, r] of [
        ['alice', alice!],
        ['carol', carol!],
      ] as const) {
        const raw = await eventually(async () => (await mailById(stack, who, r.message_id))[0], {
          what: `${who}'s notification`,
        });
        expect(decryptAs(who, raw).text).toContain('----- report -----');
      }
    });
  });

  it('does nothing for a row that is already sent (a duplicate job)', async () => {
    const db = migratedDb(systemClock);
    const ack = caseFrom(db, 'reporter1@psirt.test', `${Date.now()}.dup@reporter.test`);
    const d = deps(db);
    await deliverOutbox(d, ack);
    await deliverOutbox(d, ack);
    d.transport.close();
    expect(row(db, ack)).toMatchObject({ state: 'sent', attempts: 1 });
  });

  it('holds an all-clear back until the alert it clears has left, then sends it (#15 trial)', async () => {
    const db = migratedDb(systemClock);
    const clock = systemClock;
    const mail = { recipients: ['oncall@psirt.test'], domain: 'psirt.test', detail: 'relay unusable' };
    const raised = raiseAlarmWithMail(db, clock, 'relay-down', clock.now(), mail);
    const cleared = clearAlarmWithMail(db, clock, 'relay-down', mail);
    if (raised === null || cleared === null) throw new Error('no alert rows');
    const d = deps(db);
    await expect(deliverOutbox(d, cleared)).rejects.toBeInstanceOf(TransientSendError);
    expect(row(db, cleared)).toMatchObject({ state: 'pending' });
    await deliverOutbox(d, raised);
    await deliverOutbox(d, cleared);
    d.transport.close();
    expect(row(db, raised)).toMatchObject({ state: 'sent' });
    expect(row(db, cleared)).toMatchObject({ state: 'sent' });
    const order = db
      .prepare('SELECT id FROM outbox WHERE id IN (?, ?) ORDER BY sent_at, id')
      .all(raised, cleared) as { id: number }[];
    expect(order.map((r) => r.id)).toEqual([raised, cleared]);
  });

  it('marks a row failed on a permanent 5xx and queues one alert to the security staff', async () => {
    const db = migratedDb(systemClock);
    const ack = caseFrom(db, 'no-such-user@psirt.test', `${Date.now()}.bounce@reporter.test`);
    const d = deps(db);
    const alerts = await deliverOutbox(d, ack);
    expect(row(db, ack).state).toBe('failed');
    expect(row(db, ack).last_error).toMatch(/55\d/);
    expect(alerts).toHaveLength(1);
    const alert = db.prepare('SELECT kind, recipients FROM outbox WHERE id = ?').get(alerts[0]);
    expect(alert).toEqual({ kind: 'delivery-alert', recipients: '["alice@psirt.test","carol@psirt.test"]' });
    expect(await deliverOutbox(d, alerts[0] ?? 0)).toEqual([]);
    d.transport.close();
    expect(row(db, alerts[0] ?? 0).state).toBe('sent');
  });

  it('marks a row failed with an alert when nodemailer refuses its recipient locally (EENVELOPE, no SMTP code; #10)', async () => {
    const db = migratedDb(systemClock);
    const ack = caseFrom(db, 'reporter1@psirt.test', `${Date.now()}.eenvelope@reporter.test`);
    // An address nodemailer refuses before any RCPT TO ("No recipients defined"): no SMTP reply.
    db.prepare('UPDATE outbox SET recipients = ? WHERE id = ?').run('[" "]', ack);
    const d = deps(db);
    const alerts = await deliverOutbox(d, ack);
    d.transport.close();
    expect(row(db, ack)).toMatchObject({ state: 'failed', attempts: 1 });
    expect(row(db, ack).last_error).toMatch(/EENVELOPE|No recipients defined/);
    expect(alerts).toHaveLength(1);
  });

  it('returns a row to pending on a transient failure (nothing listening) and throws for a retry', async () => {
    const db = migratedDb(systemClock);
    const ack = caseFrom(db, 'reporter1@psirt.test', `${Date.now()}.down@reporter.test`);
    const d = deps(db, { port: await freePort() });
    await expect(deliverOutbox(d, ack)).rejects.toBeInstanceOf(TransientSendError);
    d.transport.close();
    expect(row(db, ack)).toMatchObject({ state: 'pending', attempts: 1 });
    expect(row(db, ack).last_error).toMatch(/ECONNREFUSED/);
  });

  it('sends a mail composed in a compose thread (#16): the same acknowledgment, sent and recorded', async () => {
    const db = migratedDb(systemClock);
    const id = `${Date.now()}.threaded@reporter.test`;
    const ack = caseFrom(db, 'reporter1@psirt.test', id);
    const pool = createComposePool(teamKeys[0] as TeamKey, {
      size: 1,
      idleMs: 60_000,
      log: createLogger('silent'),
    });
    const d = { ...deps(db), compose: pool.compose };
    try {
      expect(await deliverOutbox(d, ack)).toEqual([]);
    } finally {
      d.transport.close();
      await pool.close();
    }
    expect(row(db, ack).state).toBe('sent');
    const mail = await eventually(async () => (await repliesTo(stack, 'reporter1', id))[0], {
      what: 'the acknowledgment',
    });
    expect(mail.toString('latin1')).toContain('multipart/signed');
  });

  it('returns a row to pending, not failed, when the composer cannot answer (a compose thread died; #16)', async () => {
    const db = migratedDb(systemClock);
    const ack = caseFrom(db, 'reporter1@psirt.test', `${Date.now()}.composer@reporter.test`);
    const d = {
      ...deps(db),
      compose: () => Promise.reject(new ComposerUnavailable('the compose thread ended')),
    };
    await expect(deliverOutbox(d, ack)).rejects.toBeInstanceOf(TransientSendError);
    d.transport.close();
    expect(row(db, ack)).toMatchObject({ state: 'pending', attempts: 1 });
    expect(db.prepare("SELECT count(*) AS n FROM outbox WHERE kind = 'delivery-failed'").get()).toEqual({
      n: 0,
    });
  });

  it('composes on the main thread after a few tries through a composer that cannot answer, and sends (review of #16)', async () => {
    const db = migratedDb(systemClock);
    const id = `${Date.now()}.composer-fallback@reporter.test`;
    const ack = caseFrom(db, 'reporter1@psirt.test', id);
    db.prepare('UPDATE outbox SET attempts = ? WHERE id = ?').run(COMPOSER_TRIES, ack);
    const d = {
      ...deps(db),
      compose: () => Promise.reject(new ComposerUnavailable('the compose thread ended')),
    };
    expect(await deliverOutbox(d, ack)).toEqual([]);
    d.transport.close();
    expect(row(db, ack).state).toBe('sent');
    await eventually(async () => (await repliesTo(stack, 'reporter1', id))[0], {
      what: 'the acknowledgment',
    });
  });

  it('tells the relay watch "unusable", never "answered", when the relay refuses our login (EAUTH; #15)', async () => {
    const db = migratedDb(systemClock);
    const ack = caseFrom(db, 'reporter1@psirt.test', `${Date.now()}.eauth@reporter.test`);
    const heard: string[] = [];
    const d: DeliverDeps = {
      ...deps(db, {
        port: stack.submissionPort,
        auth: 'password',
        user: address(stack, 'security'),
        password: 'not-the-password',
      }),
      relay: { answered: () => heard.push('answered'), unreachable: () => heard.push('unusable') },
    };
    await deliverOutbox(d, ack).catch(() => undefined);
    d.transport.close();
    expect(row(db, ack).last_error).toMatch(/EAUTH|535|authentication/i);
    expect(heard).toEqual(['unusable']);
  });

  it('sends again a row left "sending" by a crashed worker once its claim is stale (decision 0002)', async () => {
    const db = migratedDb(systemClock);
    const ack = caseFrom(db, 'reporter1@psirt.test', `${Date.now()}.stale@reporter.test`);
    const old = new Date(Date.now() - (config.mailer.stale_claim_seconds + 1) * 1000).toISOString();
    db.prepare("UPDATE outbox SET state = 'sending', claimed_at = ?, attempts = 1 WHERE id = ?").run(
      old,
      ack,
    );
    const d = deps(db);
    await deliverOutbox(d, ack);
    d.transport.close();
    expect(row(db, ack)).toMatchObject({ state: 'sent', attempts: 2 });
  });

  it('renders and sends every reporter status template (strict templates: no missing placeholder)', async () => {
    const db = migratedDb(systemClock);
    caseFrom(db, 'reporter1@psirt.test', `${Date.now()}.status@reporter.test`);
    const c = db.prepare('SELECT id, created_at FROM cases').get() as { id: string; created_at: string };
    const snapshot = {
      stage: 'disclosure',
      resolution: null,
      severity: 'high',
      cvssScore: 8.1,
      cvssVector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H',
      assignee: 'bob@psirt.test',
      onHold: false,
      waitingOnReporter: false,
      tags: ['firmware'],
      cve: 'CVE-2026-12345',
      fixDue: c.created_at,
      discloseOn: '2027-01-15',
      advisoryUrl: 'https://example.org/adv/1',
      credit: 'Jane Doe',
      duplicateOf: 'SEC-2026-0001',
    };
    const ids = STATUS_EVENTS.map((event, i) =>
      Number(
        db
          .prepare(
            `INSERT INTO outbox (case_id, kind, dedupe_key, recipients, message_id, subject, payload, created_at)
             VALUES (?, 'reporter-status', ?, '["reporter1@psirt.test"]', ?, ?, ?, ?)`,
          )
          .run(
            c.id,
            `status-test:${event}`,
            `${Date.now()}.${i}.status@psirt.test`,
            `Re: [${c.id}] ${event}`,
            JSON.stringify({
              template: 'reporter-status',
              statusEvent: event,
              messageRowId: 1,
              autoSubmitted: 'auto-generated',
              flags: [],
              snapshot,
            }),
            c.created_at,
          ).lastInsertRowid,
      ),
    );
    const d = deps(db);
    for (const id of ids) await deliverOutbox(d, id);
    d.transport.close();
    expect(ids.map((id) => [id, row(db, id).state, row(db, id).last_error])).toEqual(
      ids.map((id) => [id, 'sent', null]),
    );
  });
});
