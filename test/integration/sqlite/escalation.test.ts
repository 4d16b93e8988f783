import { describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../src/7-cases/db.js';
import { dueEscalations, fireEscalation, rederiveOpenCases } from '../../../src/7-cases/deadline-store.js';
import { verifyEventChain } from '../../../src/7-cases/events.js';
import { loadConfig } from '../../../src/config/load.js';
import type { DecodedMessage } from '../../../src/2-decode/types.js';
import { buildDecoded, buildSignedStaffMail } from '../../support/builders.js';
import { migratedDb, tempDbPath } from '../../support/db.js';
import { ingestHarness } from '../../support/ingest.js';

/** The test profile with a 20-second triage deadline: the ladder fires at 14 s, 20 s and 26 s. */
const config = loadConfig({
  env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'x', PSIRT_DEADLINES__TRIAGE__AMOUNT: '20' },
});
const { clock, ingest } = ingestHarness({ config });
const T0 = '2026-11-24T12:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();
let n = 0;

function signed(local: string, subject: string): DecodedMessage {
  n += 1;
  const member = config.staff.find((s) => s.address === `${local}@psirt.test`)!;
  return buildSignedStaffMail(
    member,
    subject,
    { from: { address: member.address, name: local }, text: 'ok' },
    {
      messageId: `esc-${n}@psirt.test`,
      signedAt: clock.now().toISOString(),
      digest: `e${n}`.padStart(64, '0'),
    },
  );
}

/** One sweep as the escalation worker runs it. */
function sweep(db: Db): number[] {
  const sent: number[] = [];
  for (const id of dueEscalations(db, clock.now())) {
    const o = fireEscalation(db, clock, config, id);
    if (o !== null) sent.push(o);
  }
  return sent;
}

const escalationMails = (db: Db) =>
  (
    db
      .prepare(
        "SELECT recipients, subject, payload FROM outbox WHERE kind IN ('escalation', 'outside-expertise') OR payload ->> '$.template' IN ('escalation', 'outside-expertise') ORDER BY id",
      )
      .all() as {
      recipients: string;
      subject: string;
      payload: string;
    }[]
  ).map((r) => ({
    to: JSON.parse(r.recipients) as string[],
    subject: r.subject,
    payload: JSON.parse(r.payload) as Record<string, unknown>,
  }));

function assignedCase(path?: string): Db {
  clock.set(T0);
  const db = migratedDb(clock, path);
  ingest(db, buildDecoded({ messageId: `r-${Math.random()}@x`, subject: 'SECRET-SUBJECT heap overflow' }));
  clock.set(at(2));
  ingest(db, signed('alice', 'Re: [SEC-2026-0001] /assign bob'));
  return db;
}

describe('the escalation ladder in SQLite', () => {
  it('reminds the assignee, then tells on-call once, then the accountable role once', () => {
    const db = assignedCase();
    clock.set(at(13));
    expect(sweep(db)).toEqual([]);
    clock.set(at(14));
    sweep(db);
    clock.set(at(20));
    sweep(db);
    sweep(db); // a second sweep at the same time sends nothing more
    clock.set(at(26));
    sweep(db);
    clock.set(at(60));
    sweep(db);
    const mails = escalationMails(db);
    expect(mails.map((m) => m.to)).toEqual([['bob@psirt.test'], ['oncall@psirt.test'], ['lead@psirt.test']]);
    expect(mails.map((m) => m.subject)).toEqual([
      '[SEC-2026-0001] Escalation: triage deadline due soon',
      '[SEC-2026-0001] Escalation: triage deadline missed',
      '[SEC-2026-0001] Escalation: triage deadline missed',
    ]);
    // Never the report's subject (invariant 6).
    expect(JSON.stringify(mails)).not.toContain('SECRET-SUBJECT');
    expect(verifyEventChain(db).ok).toBe(true);
  });

  it('stops the ladder when the stage advances (/triage)', () => {
    const db = assignedCase();
    clock.set(at(14));
    sweep(db);
    clock.set(at(16));
    ingest(db, signed('alice', 'Re: [SEC-2026-0001] /triage'));
    clock.set(at(60));
    sweep(db);
    expect(escalationMails(db).map((m) => m.to)).toEqual([['bob@psirt.test']]);
    expect(
      db
        .prepare("SELECT count(*) AS n FROM escalations WHERE deadline = 'triage' AND state = 'stopped'")
        .get(),
    ).toEqual({ n: 2 });
  });

  it('stops on hold and on close, and while waiting on the reporter', () => {
    for (const command of ['/hold litigation', '/close invalid', '/pause']) {
      const db = assignedCase();
      clock.set(at(5));
      ingest(db, signed('carol', `Re: [SEC-2026-0001] ${command}`));
      clock.set(at(60));
      expect(sweep(db), command).toEqual([]);
    }
  });

  it('moves the ladder out by the time spent waiting on the reporter', () => {
    const db = assignedCase();
    clock.set(at(5));
    ingest(db, signed('alice', 'Re: [SEC-2026-0001] /pause'));
    clock.set(at(35)); // the reporter answers 30 s later
    ingest(
      db,
      buildDecoded({
        messageId: 'answer@x',
        subject: 'Re: [SEC-2026-0001] more',
        inReplyTo: null,
        references: [],
      }),
    );
    const due = db.prepare("SELECT due_at, state FROM deadlines WHERE kind = 'triage'").get();
    expect(due).toEqual({ due_at: at(50), state: 'open' });
    clock.set(at(49));
    sweep(db);
    expect(escalationMails(db).map((m) => m.to)).toEqual([['bob@psirt.test']]);
  });

  it('sends each step once when two workers sweep the same file at the same moment', () => {
    const path = tempDbPath();
    const db = assignedCase(path);
    const other = openDatabase(path);
    clock.set(at(30));
    const ids = dueEscalations(db, clock.now());
    expect(ids).toHaveLength(3);
    // Interleave the two workers: each tries every step.
    const sent = ids.flatMap((id) => [
      fireEscalation(db, clock, config, id),
      fireEscalation(other, clock, config, id),
    ]);
    expect(sent.filter((x) => x !== null)).toHaveLength(3);
    expect(escalationMails(db)).toHaveLength(3);
    other.close();
  });

  it('raises the outside-expertise escalation for a fix date 45 days out, naming the experts', () => {
    const db = assignedCase();
    clock.set(at(5));
    ingest(
      db,
      signed(
        'alice',
        'Re: [SEC-2026-0001] /cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H /fix-by 2027-01-08',
      ),
    );
    sweep(db);
    const outside = escalationMails(db).filter((m) => m.payload.template === 'outside-expertise');
    expect(outside).toHaveLength(1);
    expect(outside[0]).toMatchObject({
      to: ['lead@psirt.test'],
      payload: { need: { tags: [], fixDays: 45 } },
    });
    clock.set(at(10));
    ingest(db, signed('alice', 'Re: [SEC-2026-0001] /tag firmware'));
    sweep(db);
    expect(escalationMails(db).filter((m) => m.payload.template === 'outside-expertise')).toHaveLength(1);
  });

  it('derives the open cases again when the policy changed, and only then', () => {
    const path = tempDbPath();
    const db = assignedCase(path);
    const calendarOf = ingestHarness({ config }).calendar;
    expect(rederiveOpenCases(db, config, calendarOf, clock)).toBe(0);
    const longer = {
      ...config,
      deadlines: { ...config.deadlines, triage: { amount: 40, unit: 'seconds' as const } },
    };
    const progress: number[] = [];
    expect(rederiveOpenCases(db, longer, calendarOf, clock, { progress: (d) => progress.push(d) })).toBe(1);
    expect(progress).toEqual([1]);
    expect(db.prepare("SELECT due_at FROM deadlines WHERE kind = 'triage'").get()).toEqual({
      due_at: at(40),
    });
  });

  it('does not escalate the acknowledgment the flood guard held back', () => {
    clock.set(T0);
    const db = migratedDb(clock);
    const many = config.acknowledgment.max_per_sender_per_hour + 1;
    for (let i = 0; i < many; i++) ingest(db, buildDecoded({ messageId: `flood-${i}@x` }));
    const last = `SEC-2026-${String(many).padStart(4, '0')}`;
    expect(
      db.prepare("SELECT state FROM deadlines WHERE case_id = ? AND kind = 'acknowledge'").get(last),
    ).toEqual({
      state: 'cancelled',
    });
    clock.set(at(3600));
    sweep(db);
    const sent = (id: string) =>
      (
        db
          .prepare(
            "SELECT count(*) AS n FROM escalations WHERE case_id = ? AND deadline = 'acknowledge' AND state = 'sent'",
          )
          .get(id) as { n: number }
      ).n;
    expect(sent(last)).toBe(0);
    // The answered ones whose acknowledgment never left (no mailer here) do escalate.
    expect(sent('SEC-2026-0001')).toBe(config.escalation.ladder.length);
  });
});
