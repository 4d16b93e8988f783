import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DecodedMessage } from '../../../src/2-decode/types.js';
import { createCalendar } from '../../../src/calendar/calendar.js';
import type { Db } from '../../../src/7-cases/db.js';
import { readEvidencePeriod } from '../../../src/7-cases/evidence-store.js';
import { loadOutbox, markSent } from '../../../src/7-cases/outbox-store.js';
import { loadConfig } from '../../../src/config/load.js';
import { analyseCases, everyStage, type CaseEvidence } from '../../../src/evidence/analyse.js';
import { summariseSla } from '../../../src/evidence/sla.js';
import { buildDecoded, buildSignedStaffMail } from '../../support/builders.js';
import { migratedDb } from '../../support/db.js';
import { ingestHarness } from '../../support/ingest.js';

/**
 * The evidence's deadline verdicts through the real ingest path (signed staff commands, a
 * settable clock, a real SQLite file): a pause moves a met deadline too (reviewer M1), and a
 * reopen keeps the verdicts of the cycle it ends (reviewer M2).
 */

// Business days in Berlin, Mon–Fri, German public holidays; triage 3 and verify 7 of them.
const CONFIG_TOML = `
[calendar]
time_zone = "Europe/Berlin"
working_days = ["mon", "tue", "wed", "thu", "fri"]
holiday_country = "DE"

[deadlines.acknowledge]
amount = 3
unit = "business_days"

[deadlines.triage]
amount = 3
unit = "business_days"

[deadlines.verify]
amount = 7
unit = "business_days"
`;

const dir = mkdtempSync(join(tmpdir(), 'psirt-cycles-'));
const configFile = join(dir, 'cycles.toml');
writeFileSync(configFile, CONFIG_TOML);
const config = loadConfig({ file: configFile, env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'x' } });
const calendar = createCalendar(config.calendar);
const { clock, ingest } = ingestHarness({ at: '2026-11-02T09:00:00Z', config });
const NOW = new Date('2026-12-01T12:00:00Z');
let n = 0;

function command(when: string, commands: string): DecodedMessage {
  clock.set(when);
  n += 1;
  const carol = config.staff.find((s) => s.address === 'carol@psirt.test')!;
  return buildSignedStaffMail(
    carol,
    `Re: [SEC-2026-0001] report ${commands}`,
    { from: { address: carol.address, name: 'carol' }, text: 'Internal note.' },
    { messageId: `cycles-${String(n)}@psirt.test`, signedAt: when, digest: `${n}`.padStart(64, 'c') },
  );
}

/** The report at 09:00Z on Mon 2 Nov 2026, acknowledged as the mailer would. */
function received(): Db {
  clock.set('2026-11-02T09:00:00Z');
  const db = migratedDb(clock);
  ingest(db, buildDecoded({ messageId: 'r1@x' }));
  const ids = db.prepare("SELECT id FROM outbox WHERE kind = 'acknowledgment'").all() as { id: number }[];
  for (const { id } of ids) markSent(db, clock, loadOutbox(db, id)!, '250 ok');
  return db;
}

function evidence(db: Db, now = NOW): CaseEvidence {
  const period = readEvidencePeriod(db, {
    from: new Date('2026-11-01T00:00:00Z'),
    to: now,
    includeSubjects: false,
  });
  const [c] = analyseCases(period, { calendar, staff: config.staff, now, chains: new Map() });
  return c!;
}

const stage = (stages: CaseEvidence['stages'], kind: string) => stages.find((s) => s.stage === kind);

describe('a deadline met late only because of a pause (reviewer M1)', () => {
  it('is stored with the due time the pause gave it and judged met; the time taken leaves the pause out', () => {
    const db = received();
    ingest(db, command('2026-11-02T10:00:00Z', '/triage'));
    ingest(db, command('2026-11-03T09:00:00Z', '/pause'));
    // The reporter's reply ends the wait.
    clock.set('2026-11-10T09:00:00Z');
    ingest(db, buildDecoded({ messageId: 'r2@x', subject: 'Re: [SEC-2026-0001] XSS in the login form' }));
    ingest(db, command('2026-11-13T09:00:00Z', '/verified'));
    const verify = db
      .prepare(
        "SELECT due_at, state, met_at FROM deadlines WHERE case_id = 'SEC-2026-0001' AND kind = 'verify'",
      )
      .get();
    expect(verify).toEqual({
      due_at: '2026-11-18T09:00:00.000Z',
      state: 'met',
      met_at: '2026-11-13T09:00:00.000Z',
    });
    const v = stage(evidence(db).stages, 'verify');
    expect(v).toMatchObject({ verdict: 'met', businessDays: 3 });
    // Mon 2 → Fri 13 Nov is 9 business days, 5 of them (Tue 3 → Tue 10) waiting on the reporter.
    expect(v?.takenBusinessDays).toBe(4);
  });
});

describe('a reopened case keeps the deadlines of the cycle it ended (reviewer M2)', () => {
  function reopened(): Db {
    const db = received();
    ingest(db, command('2026-11-02T10:00:00Z', '/triage'));
    // Due Wed 11 Nov 09:00Z; verified Fri 20 Nov 09:00Z: 7 business days late.
    ingest(db, command('2026-11-20T09:00:00Z', '/verified'));
    ingest(db, command('2026-11-23T09:00:00Z', '/close invalid'));
    ingest(db, command('2026-11-24T09:00:00Z', '/reopen'));
    return db;
  }

  it('archives the first cycle in the reopen and starts the second without an acknowledge deadline', () => {
    const db = reopened();
    const history = db
      .prepare(
        'SELECT kind, cycle_started_at, cycle_ended_at, due_at, met_at, state FROM deadline_history ORDER BY kind',
      )
      .all();
    expect(history).toEqual([
      expect.objectContaining({
        kind: 'acknowledge',
        state: 'met',
        cycle_started_at: '2026-11-02T09:00:00.000Z',
      }),
      expect.objectContaining({ kind: 'triage', state: 'met', met_at: '2026-11-02T10:00:00.000Z' }),
      {
        kind: 'verify',
        cycle_started_at: '2026-11-02T09:00:00.000Z',
        cycle_ended_at: '2026-11-23T09:00:00.000Z',
        due_at: '2026-11-11T09:00:00.000Z',
        met_at: '2026-11-20T09:00:00.000Z',
        state: 'met',
      },
    ]);
    const current = db
      .prepare("SELECT kind, state FROM deadlines WHERE case_id = 'SEC-2026-0001' ORDER BY kind")
      .all();
    expect(current).toEqual([
      { kind: 'triage', state: 'open' },
      { kind: 'verify', state: 'open' },
    ]);
    // The open reopened case, the day of the reopen: nothing of its current cycle is missed.
    const c = evidence(db, new Date('2026-11-24T12:00:00Z'));
    expect(c.stages.map((s) => [s.stage, s.verdict])).toEqual([
      ['acknowledge', 'none'],
      ['triage', 'open'],
      ['verify', 'open'],
      ['fix', 'none'],
      ['disclose', 'none'],
    ]);
    // At the export a week later only its own triage is late (still open), never the acknowledge.
    const later = evidence(db);
    expect(later.stages.filter((s) => s.verdict === 'missed').map((s) => [s.stage, s.stillOpen])).toEqual([
      ['triage', true],
    ]);
  });

  it('reports the cycle-1 verify missed with its lateness and the cycle-2 verify met, both counted', () => {
    const db = reopened();
    ingest(db, command('2026-11-24T10:00:00Z', '/triage'));
    ingest(db, command('2026-11-25T09:00:00Z', '/verified'));
    const c = evidence(db);
    expect(c.earlierCycles).toHaveLength(1);
    expect(c.earlierCycles[0]?.label).toBe('cycle 1 (received 2026-11-02)');
    expect(stage(c.earlierCycles[0]!.stages, 'verify')).toMatchObject({
      verdict: 'missed',
      businessDays: 7,
      dueAt: '2026-11-11T09:00:00.000Z',
      doneAt: '2026-11-20T09:00:00.000Z',
    });
    expect(stage(c.earlierCycles[0]!.stages, 'acknowledge')?.verdict).toBe('met');
    expect(c.cycleLabel).toBe('cycle 2 (reopened 2026-11-24)');
    expect(stage(c.stages, 'verify')).toMatchObject({ verdict: 'met', doneAt: '2026-11-25T09:00:00.000Z' });
    expect(stage(c.stages, 'acknowledge')?.verdict).toBe('none');
    expect(
      everyStage(c)
        .filter((s) => s.result.verdict === 'missed')
        .map((s) => s.cycle),
    ).toEqual(['cycle 1 (received 2026-11-02)']);
    const verify = summariseSla([c], calendar.zone).rows.find(
      (r) => r.stage === 'verify' && r.severity === 'all',
    );
    expect(verify).toMatchObject({ count: 2, met: 1, missed: 1 });
  });
});
