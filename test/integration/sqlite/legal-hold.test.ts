import { describe, expect, it } from 'vitest';
import type { Db } from '../../../src/7-cases/db.js';
import { verifyEventChain } from '../../../src/7-cases/events.js';
import { readEvidencePeriod } from '../../../src/7-cases/evidence-store.js';
import { applyOperatorCommand } from '../../../src/7-cases/operator-store.js';
import { loadOutbox } from '../../../src/7-cases/outbox-store.js';
import { showCase } from '../../../src/7-cases/queries.js';
import { renderOutbox } from '../../../src/8-outbox/deliver.js';
import { buildDecoded, buildSignedStaffMail } from '../../support/builders.js';
import { migratedDb } from '../../support/db.js';
import { ingestHarness } from '../../support/ingest.js';
import { join } from 'node:path';
import { loadTeamKeys } from '../../../src/pgp/keyring.js';
import { createSealer } from '../../../src/pgp/sealer.js';
import type { DeliverDeps } from '../../../src/8-outbox/deliver.js';
import { ReportCache } from '../../../src/8-outbox/report-view.js';
import { createSmtpTransport } from '../../../src/8-outbox/smtp-transport.js';
import { loadTemplates } from '../../../src/8-outbox/templates.js';
import { fixedClock } from '../../../src/core/clock.js';
import { createLogger } from '../../../src/core/log.js';
import { REPO } from '../../support/stack.js';

const harness = ingestHarness();
const { clock, config, ingest } = harness;
const carol = config.staff.find((s) => s.address === 'carol@psirt.test')!;
let n = 0;

function signed(subject: string) {
  n += 1;
  return buildSignedStaffMail(
    carol,
    subject,
    { from: { address: carol.address, name: 'Carol' }, text: 'Legal asked us to keep this.\n' },
    {
      messageId: `hold-${n}@psirt.test`,
      signedAt: clock.now().toISOString(),
      digest: `${n}`.padStart(64, '0'),
    },
  );
}

/** A reported case, triaged by carol. */
function triagedCase(): Db {
  clock.set('2026-11-24T12:00:00Z');
  const db = migratedDb(clock);
  ingest(db, buildDecoded({ messageId: `report-${String(n)}@reporter.test` }));
  clock.set('2026-11-24T12:01:00Z');
  ingest(db, signed('Re: [SEC-2026-0001] XSS /triage'));
  return db;
}

const holdColumns = (db: Db) =>
  db.prepare('SELECT on_hold, hold_reason, held_at, held_by FROM cases WHERE id = ?').get('SEC-2026-0001');
const holdEvents = (db: Db) =>
  (
    db
      .prepare("SELECT actor, auth, message_id, data FROM events WHERE type = 'case.hold' ORDER BY id")
      .all() as {
      actor: string;
      auth: string | null;
      message_id: string | null;
      data: string;
    }[]
  ).map((e) => ({ ...e, data: JSON.parse(e.data) as Record<string, unknown> }));
const deadlineStates = (db: Db) =>
  (
    db
      .prepare(
        "SELECT kind, state FROM deadlines WHERE case_id = 'SEC-2026-0001' AND state <> 'met' ORDER BY kind",
      )
      .all() as { kind: string; state: string }[]
  ).map((d) => `${d.kind} ${d.state}`);

/** The mailer's rendering dependencies (no SMTP), at a time the test team key is valid. */
async function renderDeps(db: Db): Promise<DeliverDeps> {
  const keyClock = fixedClock('2026-12-20T12:00:00Z');
  const teamKeys = await loadTeamKeys(config.pgp, keyClock);
  return {
    config,
    db,
    clock: keyClock,
    log: createLogger('silent'),
    templates: loadTemplates(join(REPO, 'config', 'templates')),
    sealer: createSealer(teamKeys[0]!),
    transport: createSmtpTransport(config.smtp),
    teamKeys,
    staffKeys: new Map(),
    calendar: harness.calendar,
    reports: new ReportCache(),
    vault: harness.vault,
  };
}

const lastConfirmation = (db: Db) =>
  loadOutbox(
    db,
    (
      db
        .prepare("SELECT id FROM outbox WHERE kind = 'command-confirmation' ORDER BY id DESC LIMIT 1")
        .get() as {
        id: number;
      }
    ).id,
  )!;

describe('legal hold through a signed mail (issue #13)', () => {
  it('records the reason, the time and carol on the case and in case.hold, and stops the deadlines', async () => {
    const db = triagedCase();
    expect(deadlineStates(db)).toEqual(['acknowledge open', 'verify open']);
    clock.set('2026-11-24T12:02:00Z');
    ingest(db, signed('Re: [SEC-2026-0001] XSS /hold "litigation 2026-14"'));
    expect(holdColumns(db)).toEqual({
      on_hold: 1,
      hold_reason: 'litigation 2026-14',
      held_at: '2026-11-24T12:02:00.000Z',
      held_by: 'carol@psirt.test',
    });
    const [event] = holdEvents(db);
    expect(event).toMatchObject({
      actor: 'staff:carol@psirt.test',
      auth: expect.stringMatching(/^pgp:/),
      data: {
        onHold: true,
        reason: 'litigation 2026-14',
        heldAt: '2026-11-24T12:02:00.000Z',
        heldBy: 'carol@psirt.test',
      },
    });
    expect(deadlineStates(db)).toEqual(['acknowledge open', 'verify paused']);
    const confirmation = lastConfirmation(db);
    expect(confirmation.payload).toMatchObject({
      hold: { reason: 'litigation 2026-14', since: '2026-11-24T12:02:00.000Z', by: 'carol@psirt.test' },
    });
    const text = (await renderOutbox(await renderDeps(db), confirmation)).mail.text;
    expect(text).toContain('applied   /hold "litigation 2026-14"');
    expect(text).toMatch(
      / {2}Legal hold: {2}on legal hold: litigation 2026-14\r\n {15}since .*2026.*, by carol@psirt\.test\r\n/,
    );
  });

  it('rejects /hold without a reason, showing the form, and changes nothing', async () => {
    const db = triagedCase();
    ingest(db, signed('Re: [SEC-2026-0001] XSS /hold'));
    expect(holdColumns(db)).toMatchObject({ on_hold: 0, hold_reason: null });
    expect(holdEvents(db)).toEqual([]);
    const text = (await renderOutbox(await renderDeps(db), lastConfirmation(db))).mail.text;
    expect(text).toContain('REJECTED  /hold');
    expect(text).toContain('needs a reason: /hold "<reason>"');
  });

  it('/unhold clears the columns, records who and when, and the history keeps the reason', () => {
    const db = triagedCase();
    ingest(db, signed('Re: [SEC-2026-0001] XSS /hold "litigation 2026-14"'));
    clock.set('2026-11-24T12:05:00Z');
    ingest(db, signed('Re: [SEC-2026-0001] XSS /unhold'));
    expect(holdColumns(db)).toEqual({ on_hold: 0, hold_reason: null, held_at: null, held_by: null });
    const events = holdEvents(db);
    expect(events.map((e) => e.data)).toEqual([
      expect.objectContaining({ onHold: true, reason: 'litigation 2026-14' }),
      expect.objectContaining({
        onHold: false,
        releasedAt: '2026-11-24T12:05:00.000Z',
        releasedBy: 'carol@psirt.test',
      }),
    ]);
    expect(deadlineStates(db)).toEqual(['acknowledge open', 'verify open']);
    expect(lastConfirmation(db).payload).toMatchObject({ hold: null });
  });

  it('the evidence store gives the hold reason, since and by, and the reason of each hold event', () => {
    const db = triagedCase();
    ingest(db, signed('Re: [SEC-2026-0001] XSS /hold "litigation 2026-14"'));
    const period = readEvidencePeriod(db, {
      from: new Date('2026-01-01T00:00:00Z'),
      to: new Date('2026-12-31T23:59:59Z'),
      includeSubjects: false,
    });
    expect(period.cases[0]).toMatchObject({
      on_hold: true,
      hold_reason: 'litigation 2026-14',
      held_by: 'carol@psirt.test',
    });
    expect(period.events.find((e) => e.type === 'case.hold')?.detail).toEqual({
      onHold: true,
      reason: 'litigation 2026-14',
    });
  });
});

describe('legal hold through the CLI path: applyOperatorCommand() (issue #13)', () => {
  const deps = (db: Db) => ({ db, clock, config, calendar: harness.calendar });

  it('writes the same columns, event and deadline effect as the mail, as staff:carol with auth cli', () => {
    const byMail = triagedCase();
    clock.set('2026-11-24T12:02:00Z');
    ingest(byMail, signed('Re: [SEC-2026-0001] XSS /hold "litigation 2026-14"'));
    const byCli = triagedCase();
    const outboxBefore = (byCli.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
    clock.set('2026-11-24T12:02:00Z');
    const r = applyOperatorCommand(deps(byCli), {
      caseId: 'SEC-2026-0001',
      member: carol,
      command: { name: 'hold', reason: 'litigation 2026-14' },
    });
    expect(r).toMatchObject({ ok: true, outcome: { applied: true } });
    expect(holdColumns(byCli)).toEqual(holdColumns(byMail));
    expect(deadlineStates(byCli)).toEqual(deadlineStates(byMail));
    const [mailEvent] = holdEvents(byMail);
    const [cliEvent] = holdEvents(byCli);
    const mailData = { ...mailEvent!.data };
    delete mailData.messageRowId;
    expect(cliEvent).toEqual({
      actor: 'staff:carol@psirt.test',
      auth: 'cli',
      message_id: null,
      data: mailData,
    });
    // No mail: the CLI prints the outcome (the outbox holds only what the report and /triage wrote).
    expect(byCli.prepare('SELECT count(*) AS n FROM outbox').get()).toEqual({ n: outboxBefore });
    expect(verifyEventChain(byCli).ok).toBe(true);
    expect(showCase(byCli, 'SEC-2026-0001')?.case).toMatchObject({
      on_hold: true,
      hold_reason: 'litigation 2026-14',
    });
  });

  it('releases the hold and answers a case that does not exist', () => {
    const db = triagedCase();
    const hold = { name: 'hold', reason: 'audit' } as const;
    applyOperatorCommand(deps(db), { caseId: 'SEC-2026-0001', member: carol, command: hold });
    const r = applyOperatorCommand(deps(db), {
      caseId: 'SEC-2026-0001',
      member: carol,
      command: { name: 'unhold' },
    });
    expect(r).toMatchObject({ ok: true, outcome: { applied: true, text: '/unhold' } });
    expect(holdColumns(db)).toEqual({ on_hold: 0, hold_reason: null, held_at: null, held_by: null });
    expect(applyOperatorCommand(deps(db), { caseId: 'SEC-2026-0099', member: carol, command: hold })).toEqual(
      {
        ok: false,
        reason: 'no-case',
      },
    );
  });
});
