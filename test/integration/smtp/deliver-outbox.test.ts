import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createCalendar } from '../../../src/calendar/calendar.js';
import { applyMessage } from '../../../src/7-cases/apply.js';
import { clearAlarmWithMail, raiseAlarmWithMail } from '../../../src/7-cases/alarm-store.js';
import type { Db } from '../../../src/7-cases/db.js';
import { storeRaw } from '../../../src/7-cases/intake-store.js';
import { loadConfig } from '../../../src/config/load.js';
import { STATUS_EVENTS, type Config } from '../../../src/config/schema.js';
import { parseCaseIdFormat } from '../../../src/core/case-id.js';
import { systemClock } from '../../../src/core/clock.js';
import { createLogger } from '../../../src/core/log.js';
import { createSmtpTransport } from '../../../src/8-outbox/smtp-transport.js';
import { loadTemplates } from '../../../src/8-outbox/templates.js';
import { loadTeamKeys, type TeamKey } from '../../../src/pgp/keyring.js';
import { createSealer } from '../../../src/pgp/sealer.js';
import { deliverOutbox, TransientSendError, type DeliverDeps } from '../../../src/8-outbox/deliver.js';
import { ReportCache } from '../../../src/8-outbox/report-view.js';
import { ComposerUnavailable, createComposePool } from '../../../src/roles/compose-pool.js';
import { testVault } from '../../support/vault.js';
import { buildDecoded } from '../../support/builders.js';
import { migratedDb } from '../../support/db.js';
import { mailById, repliesTo } from '../../support/service.js';
import { simpleParser } from 'mailparser';
import { freePort } from '../../support/ports.js';
import { eventually } from '../../support/eventually.js';
import { address, REPO, stackEnv } from '../../support/stack.js';

const stack = inject('stack');
let config: Config;
let teamKeys: TeamKey[];
const vault = testVault();

beforeAll(async () => {
  config = loadConfig({ env: stackEnv(stack) });
  teamKeys = await loadTeamKeys(config.pgp, systemClock);
});

function deps(db: Db, overrides: Partial<Config['smtp']> = {}): DeliverDeps {
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
    staffKeys: new Map([
      ['alice@psirt.test', readFileSync(join(REPO, 'test/fixtures/keys/alice.pub.asc'), 'utf8')],
    ]),
    calendar: createCalendar(config.calendar),
    reports: new ReportCache(),
    vault,
  };
}

/** A new case from `sender` with its outbox rows; returns the acknowledgment row id. */
function caseFrom(db: Db, sender: string, messageId: string): number {
  const raw = Buffer.from(`From: ${sender}\r\nMessage-ID: <${messageId}>\r\nSubject: test\r\n\r\nbody\r\n`);
  const stored = storeRaw(db, systemClock, vault, {
    mailbox: 'INBOX',
    uidvalidity: '1',
    uid: Math.floor(Math.random() * 1e9),
    size: raw.length,
    raw,
    rawPath: null,
    sha256: createHash('sha256').update(raw).digest('hex'),
    messageId,
    internalDate: null,
  });
  applyMessage(
    {
      db,
      clock: systemClock,
      config,
      caseIdFormat: parseCaseIdFormat(config.cases.id_format),
      calendar: createCalendar(config.calendar),
      vault,
    },
    {
      messageRowId: stored.rowId,
      decoded: buildDecoded({ messageId, from: { address: sender, name: null } }),
      fallback: { sender, messageId },
      classification: { kind: 'new-report', linkedTo: null },
      flags: [],
    },
  );
  return (
    db.prepare("SELECT id FROM outbox WHERE kind = 'acknowledgment' ORDER BY id DESC LIMIT 1").get() as {
      id: number;
    }
  ).id;
}

/** Opens a case and delivers bob's notification (bob has no key_file); returns it from his mailbox. */
async function notifyBob(allowCleartext: boolean): Promise<Buffer> {
  const db = migratedDb(systemClock);
  caseFrom(
    db,
    'reporter1@psirt.test',
    `${Date.now()}.${allowCleartext ? 'clear' : 'withheld'}@reporter.test`,
  );
  const note = db
    .prepare('SELECT id, message_id FROM outbox WHERE recipients = ?')
    .get('["bob@psirt.test"]') as {
    id: number;
    message_id: string;
  };
  const d = { ...deps(db), config: { ...config, notifications: { allow_cleartext: allowCleartext } } };
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
