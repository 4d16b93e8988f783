import { describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../src/7-cases/db.js';
import { dueEscalations, fireEscalation } from '../../../src/7-cases/deadline-store.js';
import {
  dueEmbargoReminders,
  fireEmbargoReminder,
  sweepEmbargo,
} from '../../../src/7-cases/embargo-store.js';
import { verifyEventChain } from '../../../src/7-cases/events.js';
import { loadOutbox } from '../../../src/7-cases/outbox-store.js';
import { renderOutbox } from '../../../src/8-outbox/deliver.js';
import type { DecodedMessage } from '../../../src/2-decode/types.js';
import { buildDecoded, buildSignedStaffMail } from '../../support/builders.js';
import { migratedDb, tempDbPath } from '../../support/db.js';
import { ingestHarness } from '../../support/ingest.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTeamKeys } from '../../../src/pgp/keyring.js';
import { createSealer } from '../../../src/pgp/sealer.js';
import type { DeliverDeps } from '../../../src/8-outbox/deliver.js';
import { ReportCache } from '../../../src/8-outbox/report-view.js';
import { createSmtpTransport } from '../../../src/8-outbox/smtp-transport.js';
import { loadTemplates } from '../../../src/8-outbox/templates.js';
import { createLogger } from '../../../src/core/log.js';
import { REPO } from '../../support/stack.js';

/**
 * Issue #14 item 4 on real SQLite: the embargo reminders swept as the escalation role sweeps
 * (sweepEmbargo), on the test profile (UTC, every day open, `remind_before` 2 calendar days) and
 * an injected clock. Tuesday 24 November 2026, noon: the agreed date 27 November is three days out,
 * its `disclose` deadline due at the end of that day, the reminders at the end of 25 November.
 */
const harness = ingestHarness();
const { clock, config, calendar, caseIdFormat, ingest } = harness;
const opts = { config, calendar, caseIdPattern: caseIdFormat.pattern };
const T0 = '2026-11-24T12:00:00.000Z';
const CASE = 'SEC-2026-0001';
const REMIND = '2026-11-25T23:59:59.999Z';
const DUE = '2026-11-27T23:59:59.999Z';
let n = 0;

function signed(local: string, commands: string): DecodedMessage {
  n += 1;
  const member = config.staff.find((s) => s.address === `${local}@psirt.test`)!;
  const subject = `Re: [${CASE}] ${commands}`;
  return buildSignedStaffMail(
    member,
    subject,
    { from: { address: member.address, name: local }, text: 'ok' },
    {
      messageId: `emb-${n}@psirt.test`,
      signedAt: clock.now().toISOString(),
      digest: `m${n}`.padStart(64, '0'),
    },
  );
}

function command(db: Db, at: string, commands: string, local = 'alice'): void {
  clock.set(at);
  ingest(db, signed(local, commands));
}

/** A report, assigned to bob, with disclosure agreed for 27 November. */
function agreedCase(path?: string, commands = '/assign bob /disclose 2026-11-27'): Db {
  clock.set(T0);
  const db = migratedDb(clock, path);
  ingest(db, buildDecoded({ messageId: `r-${Math.random()}@x`, subject: 'SECRET-SUBJECT heap overflow' }));
  command(db, '2026-11-24T12:00:05Z', commands);
  return db;
}

/** Through the stages to /publish (a manager's command: carol), at `at`. */
function publish(db: Db, at: string): void {
  command(db, at, '/triage /verified /fixed /no-draft "researcher unreachable"');
  command(db, at, '/publish https://x.test/a', 'carol');
}

function sweepAt(db: Db, at: string): number[] {
  clock.set(at);
  return sweepEmbargo(db, clock, opts);
}

interface Reminder {
  recipient: string;
  disclose_on: string;
  fire_at: string;
  state: string;
}
const reminders = (db: Db): Reminder[] =>
  db
    .prepare('SELECT recipient, disclose_on, fire_at, state FROM embargo_reminders ORDER BY id')
    .all() as Reminder[];

const reminderMails = (db: Db) =>
  (
    db
      .prepare(
        "SELECT id, recipients, subject, payload, in_reply_to FROM outbox WHERE kind = 'embargo-reminder' ORDER BY id",
      )
      .all() as {
      id: number;
      recipients: string;
      subject: string;
      payload: string;
      in_reply_to: string | null;
    }[]
  ).map((r) => ({
    id: r.id,
    to: JSON.parse(r.recipients) as string[],
    subject: r.subject,
    inReplyTo: r.in_reply_to,
    payload: JSON.parse(r.payload) as Record<string, unknown>,
  }));

/** The mailer's dependencies on this harness (as test/support/outbox-rows.ts renderDeps), rendering only. */
async function renderDeps(db: Db): Promise<DeliverDeps> {
  const teamKeys = await loadTeamKeys(config.pgp, clock);
  return {
    config,
    db,
    clock,
    log: createLogger('silent'),
    templates: loadTemplates(join(REPO, 'config', 'templates')),
    sealer: createSealer(teamKeys[0]!),
    transport: createSmtpTransport(config.smtp),
    teamKeys,
    staffKeys: new Map([
      ['bob@psirt.test', readFileSync(join(REPO, 'test/fixtures/keys/bob.pub.asc'), 'utf8')],
    ]),
    calendar,
    reports: new ReportCache(),
    vault: harness.vault,
  };
}

/** The escalation sweep of the ladder, as the role runs it. */
function ladderAt(db: Db, at: string): void {
  clock.set(at);
  for (const id of dueEscalations(db, clock.now())) fireEscalation(db, clock, config, id);
}

const discloseSteps = (db: Db) =>
  db.prepare("SELECT recipient, state FROM escalations WHERE deadline = 'disclose' ORDER BY step").all() as {
    recipient: string;
    state: string;
  }[];

describe('embargo reminders in SQLite (#14)', () => {
  it('a date 3 days out, reminders at 2 days: one reminder each to the reporter and the assignee', async () => {
    const db = agreedCase();
    expect(config.disclosure.remind_before).toEqual({ amount: 2, unit: 'calendar_days' });
    expect(sweepAt(db, '2026-11-24T12:01:00Z')).toEqual([]);
    expect(reminders(db)).toEqual([
      { recipient: 'reporter', disclose_on: '2026-11-27', fire_at: REMIND, state: 'pending' },
      { recipient: 'assignee', disclose_on: '2026-11-27', fire_at: REMIND, state: 'pending' },
    ]);
    expect(sweepAt(db, '2026-11-25T23:59:59.000Z')).toEqual([]);
    const sent = sweepAt(db, '2026-11-26T00:00:00Z');
    expect(sent).toHaveLength(2);
    // A second sweep, and later ones before the date, send nothing more.
    expect(sweepAt(db, '2026-11-26T00:00:00Z')).toEqual([]);
    expect(sweepAt(db, '2026-11-27T12:00:00Z')).toEqual([]);
    const mails = reminderMails(db);
    expect(mails.map((m) => m.id)).toEqual(sent);
    expect(mails.map((m) => m.to)).toEqual([['reporter1@psirt.test'], ['bob@psirt.test']]);
    expect(mails.map((m) => m.payload)).toMatchObject([
      { template: 'embargo-reminder', audience: 'reporter', discloseOn: '2026-11-27', dueAt: DUE },
      { template: 'embargo-reminder', audience: 'staff', discloseOn: '2026-11-27', dueAt: DUE },
    ]);
    expect(mails[1]!.subject).toBe(`[${CASE}] Embargo: disclosure agreed for 2026-11-27`);
    // The reporter's is on their thread: it answers the last mail of that thread.
    const lastToReporter = db
      .prepare(
        "SELECT message_id FROM outbox WHERE kind = 'reporter-status' AND case_id = ? ORDER BY id DESC LIMIT 1",
      )
      .get(CASE) as { message_id: string };
    expect(mails[0]!.inReplyTo).toBe(lastToReporter.message_id);
    expect(reminders(db).map((r) => r.state)).toEqual(['sent', 'sent']);
    // What we send the reporter next threads after the reminder (it is on their thread).
    command(db, '2026-11-26T09:00:00Z', '/reply');
    const reply = db.prepare("SELECT in_reply_to FROM outbox WHERE kind = 'reporter-reply'").get() as {
      in_reply_to: string;
    };
    const reminderId = db.prepare('SELECT message_id FROM outbox WHERE id = ?').get(mails[0]!.id) as {
      message_id: string;
    };
    expect(reply.in_reply_to).toBe(reminderId.message_id);
    expect(db.prepare("SELECT count(*) AS n FROM events WHERE type = 'embargo.reminder-sent'").get()).toEqual(
      { n: 2 },
    );
    // Never the report's subject (invariant 6).
    expect(JSON.stringify(mails)).not.toContain('SECRET-SUBJECT');
    expect(verifyEventChain(db).ok).toBe(true);

    // The mails render: case id, the date, what happens then; Auto-Submitted: auto-generated.
    clock.set('2026-12-20T12:00:00Z'); // the test keys were made after T0
    const deps = await renderDeps(db);
    const [toReporter, toStaff] = await Promise.all(
      mails.map(async (m) => renderOutbox(deps, loadOutbox(db, m.id)!)),
    );
    expect(toReporter!.mail.text).toContain(`public disclosure of case ${CASE} is agreed for\r\n2026-11-27`);
    expect(toReporter!.mail.headers['Auto-Submitted']).toBe('auto-generated');
    expect(toStaff!.mail.headers['Auto-Submitted']).toBe('auto-generated');
    // bob has a staff key: encrypted to it; the reporter pinned no key here: signed.
    expect(toStaff!.protection.kind).toBe('encrypted');
    expect(toReporter!.protection.kind).toBe('signed');
    expect(toStaff!.mail.text).toContain(`Case ${CASE}: public disclosure is agreed for 2026-11-27`);
    expect(toStaff!.mail.text).toContain('/publish <advisory-url>');
    expect(toStaff!.mail.text).toContain('Owner:        Bob Tester <bob@psirt.test>');
  });

  it('reminds the security staff when nobody is assigned', () => {
    const db = agreedCase(undefined, '/disclose 2026-11-27');
    sweepAt(db, '2026-11-24T12:01:00Z');
    sweepAt(db, '2026-11-26T00:00:00Z');
    expect(reminderMails(db).map((m) => m.to)).toEqual([
      ['reporter1@psirt.test'],
      ['alice@psirt.test', 'carol@psirt.test'],
    ]);
  });

  it("a changed date stops the old date's pending reminders and gets its own; the reporter is told of the change", async () => {
    const db = agreedCase();
    sweepAt(db, '2026-11-24T12:01:00Z');
    command(db, '2026-11-25T12:00:00Z', '/disclose 2026-12-04');
    expect(sweepAt(db, '2026-11-26T00:00:00Z')).toEqual([]);
    expect(reminders(db)).toEqual([
      { recipient: 'reporter', disclose_on: '2026-11-27', fire_at: REMIND, state: 'stopped' },
      { recipient: 'assignee', disclose_on: '2026-11-27', fire_at: REMIND, state: 'stopped' },
      {
        recipient: 'reporter',
        disclose_on: '2026-12-04',
        fire_at: '2026-12-02T23:59:59.999Z',
        state: 'pending',
      },
      {
        recipient: 'assignee',
        disclose_on: '2026-12-04',
        fire_at: '2026-12-02T23:59:59.999Z',
        state: 'pending',
      },
    ]);
    expect(sweepAt(db, '2026-12-03T00:00:00Z')).toHaveLength(2);
    expect(reminderMails(db).map((m) => m.payload.discloseOn)).toEqual(['2026-12-04', '2026-12-04']);
    // Item 3: the status mail of the change names the previous date.
    const status = db
      .prepare("SELECT id, payload FROM outbox WHERE kind = 'reporter-status' ORDER BY id")
      .all() as { id: number; payload: string }[];
    const scheduled = status.filter((s) => s.payload.includes('disclosure-scheduled'));
    expect(
      scheduled.map((s) => (JSON.parse(s.payload) as { previousDiscloseOn?: string }).previousDiscloseOn),
    ).toEqual([undefined, '2026-11-27']);
    clock.set('2026-12-20T12:00:00Z'); // the test keys were made after T0
    const deps = await renderDeps(db);
    const first = await renderOutbox(deps, loadOutbox(db, scheduled[0]!.id)!);
    const changed = await renderOutbox(deps, loadOutbox(db, scheduled[1]!.id)!);
    expect(first.mail.text).toContain(`public disclosure of case ${CASE} is scheduled for 2026-11-27.`);
    expect(first.mail.text).not.toContain('it was');
    expect(changed.mail.text).toContain('it was 2026-11-27, it is now 2026-12-04.');
  });

  it('a stopped date agreed again gets its reminders back; a date already reminded of is never reminded again', () => {
    const db = agreedCase();
    sweepAt(db, '2026-11-24T12:01:00Z');
    command(db, '2026-11-24T13:00:00Z', '/disclose 2026-12-04');
    sweepAt(db, '2026-11-24T13:01:00Z');
    command(db, '2026-11-24T14:00:00Z', '/disclose 2026-11-27');
    expect(sweepAt(db, '2026-11-26T00:00:00Z')).toHaveLength(2);
    command(db, '2026-11-26T10:00:00Z', '/disclose 2026-12-04');
    command(db, '2026-11-26T11:00:00Z', '/disclose 2026-11-27');
    expect(sweepAt(db, '2026-11-26T12:00:00Z')).toEqual([]);
    expect(reminderMails(db).map((m) => m.payload.discloseOn)).toEqual(['2026-11-27', '2026-11-27']);
  });

  it('sends each reminder once when two workers claim the same file at the same moment', () => {
    const path = tempDbPath();
    const db = agreedCase(path);
    const other = openDatabase(path);
    sweepAt(db, '2026-11-24T12:01:00Z');
    clock.set('2026-11-26T00:00:00Z');
    const ids = dueEmbargoReminders(db, clock.now());
    expect(ids).toHaveLength(2);
    const sent = ids.flatMap((id) => [
      fireEmbargoReminder(db, clock, opts, id),
      fireEmbargoReminder(other, clock, opts, id),
    ]);
    expect(sent.filter((x) => x !== null)).toHaveLength(2);
    expect(sweepEmbargo(other, clock, opts)).toEqual([]);
    expect(reminderMails(db)).toHaveLength(2);
    // Claimed once: one event each, and the rows keep the first claim's outbox row.
    expect(db.prepare("SELECT count(*) AS n FROM events WHERE type = 'embargo.reminder-sent'").get()).toEqual(
      {
        n: 2,
      },
    );
    expect(
      (
        db.prepare('SELECT outbox_id FROM embargo_reminders ORDER BY id').all() as { outbox_id: number }[]
      ).map((r) => r.outbox_id),
    ).toEqual(sent.filter((x) => x !== null));
    other.close();
  });

  it('sends nothing once published or closed', () => {
    for (const end of ['publish', '/close wontfix']) {
      const db = agreedCase();
      sweepAt(db, '2026-11-24T12:01:00Z');
      if (end === 'publish') publish(db, '2026-11-25T10:00:00Z');
      else command(db, '2026-11-25T10:00:00Z', end);
      expect(sweepAt(db, '2026-11-26T00:00:00Z'), end).toEqual([]);
      expect(
        reminders(db).map((r) => r.state),
        end,
      ).toEqual(['stopped', 'stopped']);
    }
  });

  it('sends nothing while on hold; lifted, the reminders count from the moved deadline', () => {
    const db = agreedCase();
    sweepAt(db, '2026-11-24T12:01:00Z');
    command(db, '2026-11-25T12:00:00Z', '/hold litigation', 'carol');
    expect(sweepAt(db, '2026-11-26T00:00:00Z')).toEqual([]);
    expect(sweepAt(db, '2026-11-26T12:00:00Z')).toEqual([]);
    expect(reminders(db).map((r) => r.state)).toEqual(['pending', 'pending']);
    // Held for a day: the deadline and its reminders moved out by a day.
    command(db, '2026-11-26T12:00:00Z', '/unhold', 'carol');
    expect(sweepAt(db, '2026-11-26T12:00:01Z')).toEqual([]);
    expect(reminders(db).map((r) => r.fire_at)).toEqual([
      '2026-11-26T23:59:59.999Z',
      '2026-11-26T23:59:59.999Z',
    ]);
    expect(sweepAt(db, '2026-11-27T00:00:00Z')).toHaveLength(2);
  });

  it("a date agreed inside the window: the assignee's at the next sweep, the reporter's not (the status mail just told them)", () => {
    const db = agreedCase(undefined, '/assign bob');
    expect(sweepAt(db, '2026-11-26T05:00:00Z')).toEqual([]);
    // Agreed after its reminder time (the end of 25 November).
    command(db, '2026-11-26T06:00:00Z', '/disclose 2026-11-27');
    expect(sweepAt(db, '2026-11-26T06:00:01Z')).toHaveLength(1);
    expect(reminderMails(db).map((m) => m.to)).toEqual([['bob@psirt.test']]);
    expect(
      reminders(db)
        .filter((r) => r.disclose_on === '2026-11-27')
        .map((r) => [r.recipient, r.state]),
    ).toEqual([
      ['reporter', 'stopped'],
      ['assignee', 'sent'],
    ]);
  });

  it('past the date unpublished: the on-call step of the disclose deadline fires once', () => {
    const db = agreedCase();
    sweepAt(db, '2026-11-26T00:00:00Z');
    expect(db.prepare("SELECT due_at FROM deadlines WHERE kind = 'disclose'").get()).toEqual({ due_at: DUE });
    ladderAt(db, '2026-11-27T23:59:00Z');
    expect(discloseSteps(db).filter((s) => s.recipient === 'oncall')).toEqual([
      { recipient: 'oncall', state: 'pending' },
    ]);
    ladderAt(db, '2026-11-28T00:00:00Z');
    ladderAt(db, '2026-11-28T00:00:00Z');
    ladderAt(db, '2026-11-28T01:00:00Z');
    const toOncall = db
      .prepare(
        "SELECT count(*) AS n FROM outbox WHERE kind = 'escalation' AND recipients = '[\"oncall@psirt.test\"]' AND payload ->> '$.deadline' = 'disclose'",
      )
      .get();
    expect(toOncall).toEqual({ n: 1 });
    expect(discloseSteps(db).filter((s) => s.recipient === 'oncall')).toEqual([
      { recipient: 'oncall', state: 'sent' },
    ]);
    // The reminders were sent before; past the date the embargo sweep adds nothing.
    expect(sweepAt(db, '2026-11-28T01:00:00Z')).toEqual([]);
    expect(reminderMails(db)).toHaveLength(2);
  });

  it('after /publish the disclose deadline never escalates', () => {
    const db = agreedCase();
    publish(db, '2026-11-25T10:00:00Z');
    ladderAt(db, '2026-11-28T00:00:00Z');
    ladderAt(db, '2026-12-10T00:00:00Z');
    expect(
      db
        .prepare(
          "SELECT count(*) AS n FROM outbox WHERE kind = 'escalation' AND payload ->> '$.deadline' = 'disclose'",
        )
        .get(),
    ).toEqual({ n: 0 });
    expect(db.prepare("SELECT state FROM deadlines WHERE kind = 'disclose'").get()).toEqual({ state: 'met' });
  });
});
