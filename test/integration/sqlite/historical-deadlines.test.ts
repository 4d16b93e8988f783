import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../../src/7-cases/db.js';
import { applyMessage } from '../../../src/7-cases/apply.js';
import { beginAdoption, finishAdoption } from '../../../src/7-cases/adoption-store.js';
import { dueEscalations, fireEscalation, writeDeadlineSync } from '../../../src/7-cases/deadline-store.js';
import { storeRaw } from '../../../src/7-cases/intake-store.js';
import { fixedClock } from '../../../src/core/clock.js';
import { listCases, listDeadlines, countDeadlines, showCase } from '../../../src/7-cases/queries.js';
import { readEvidencePeriod } from '../../../src/7-cases/evidence-store.js';
import { analyseCases, everyStage, stateOf } from '../../../src/evidence/analyse.js';
import { formatCaseDetail, formatCaseList, formatDeadlines } from '../../../src/cli/format.js';
import { buildDecoded } from '../../support/builders.js';
import { migratedDb } from '../../support/db.js';
import { ingestHarness } from '../../support/ingest.js';

/** Issue #15: deadlines of imported history are derived from the original dates, never escalated. */

const h = ingestHarness({ at: '2026-11-24T12:00:00Z' });
const OLD = '2024-02-01T09:00:00.000Z';

function applyOldReport(db: Db, n: number, historical: { adoptionId: number } | undefined): string {
  const raw = Buffer.from(`Message-ID: <old-${n}@psirt.test>\r\n\r\n${n}`);
  const stored = storeRaw(db, h.clock, h.vault, {
    mailbox: 'INBOX',
    uidvalidity: '1',
    uid: n,
    size: raw.length,
    raw,
    rawPath: null,
    sha256: createHash('sha256').update(raw).digest('hex'),
    messageId: `old-${n}@psirt.test`,
    internalDate: OLD,
  });
  const deps = { ...h.deps(db), clock: fixedClock(OLD), ...(historical === undefined ? {} : { historical }) };
  const result = applyMessage(deps, {
    messageRowId: stored.rowId,
    decoded: buildDecoded({ messageId: `old-${n}@psirt.test`, date: OLD }),
    fallback: { sender: null, messageId: null },
    classification: { kind: 'new-report', linkedTo: null },
    flags: [],
  });
  return result.caseId ?? '';
}

/** One sweep as the escalation worker runs it, now (years after the mail). */
function sweep(db: Db): number[] {
  const sent: number[] = [];
  for (const id of dueEscalations(db, h.clock.now())) {
    const o = fireEscalation(db, h.clock, h.config, id);
    if (o !== null) sent.push(o);
  }
  return sent;
}

describe('historical deadlines (psirt import)', () => {
  it('are derived from the original date, marked historical, and the sweep never escalates them', () => {
    const db = migratedDb();
    const adoption = beginAdoption(db, h.clock, 'imap', 'INBOX');
    const caseId = applyOldReport(db, 1, { adoptionId: adoption.id });
    const deadlines = db
      .prepare('SELECT kind, due_at, historical FROM deadlines WHERE case_id = ?')
      .all(caseId) as { kind: string; due_at: string; historical: number }[];
    expect(deadlines.length).toBeGreaterThan(0);
    for (const d of deadlines) {
      expect(d.historical).toBe(1);
      expect(d.due_at < '2025-01-01').toBe(true); // from 2024, not from now
    }
    // Even a step set pending again (a later re-derivation) is refused by the sweep.
    db.prepare("UPDATE escalations SET state = 'pending' WHERE case_id = ?").run(caseId);
    expect(sweep(db)).toEqual([]);
    expect(db.prepare('SELECT count(*) AS n FROM outbox').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT cases_created FROM adoptions WHERE id = ?').get(adoption.id)).toEqual({
      cases_created: 1,
    });
  });

  it('a deadline kind first derived later for an imported case is history too; a new cycle is live (#15 review)', () => {
    const db = migratedDb();
    const adoption = beginAdoption(db, h.clock, 'imap', 'INBOX');
    const caseId = applyOldReport(db, 3, { adoptionId: adoption.id });
    const sync = {
      caseId,
      at: h.clock.now().toISOString(),
      archive: null,
      calendarId: 'test',
      policy: 'test',
      upserts: [{ kind: 'fix', dueAt: '2024-03-01T00:00:00.000Z', state: 'open', metAt: null }],
      cancel: [],
      escalations: [],
      ladderLength: 0,
      escalating: [],
      cycle: '1',
      outsideExpertise: null,
      after: [],
    };
    writeDeadlineSync(db, sync);
    const fix = () =>
      db.prepare("SELECT historical FROM deadlines WHERE case_id = ? AND kind = 'fix'").get(caseId);
    expect(fix()).toEqual({ historical: 1 });
    // A reopened imported case starts live work: its case and new deadlines are no longer history.
    writeDeadlineSync(db, { ...sync, archive: { startedAt: OLD, endedAt: sync.at }, cycle: '2' });
    expect(fix()).toEqual({ historical: 0 });
    expect(db.prepare('SELECT historical FROM cases WHERE id = ?').get(caseId)).toEqual({ historical: 0 });
  });

  it('the event log says the case was imported, never that a mail was queued or sent (#15 trial)', () => {
    const db = migratedDb();
    const adoption = beginAdoption(db, h.clock, 'imap', 'INBOX');
    const caseId = applyOldReport(db, 4, { adoptionId: adoption.id });
    const types = (
      db.prepare('SELECT type FROM events WHERE case_id = ? ORDER BY id').all(caseId) as { type: string }[]
    ).map((e) => e.type);
    expect(types).toContain('case.opened');
    expect(types).toContain('case.imported');
    for (const claim of ['acknowledgment.queued', 'acknowledgment.held', 'staff.notified'])
      expect(types).not.toContain(claim);
    // The same report applied live does record them (what the import must leave out).
    const live = applyOldReport(db, 5, undefined);
    const liveTypes = (
      db.prepare('SELECT type FROM events WHERE case_id = ?').all(live) as { type: string }[]
    ).map((e) => e.type);
    expect(liveTypes).toContain('acknowledgment.queued');
    expect(liveTypes).toContain('staff.notified');
  });

  it('show as historical, never LATE, in cases list/show, deadlines and the evidence (#15 trial)', () => {
    const db = migratedDb();
    const adoption = beginAdoption(db, h.clock, 'imap', 'INBOX');
    const imported = applyOldReport(db, 6, { adoptionId: adoption.id });
    const live = applyOldReport(db, 7, undefined); // the same old mail applied live: really late
    const now = h.clock.now();

    const rows = listCases(db);
    const iRow = rows.find((r) => r.id === imported)!;
    expect(iRow.historical).toBe(true);
    expect(iRow.next_deadline?.historical).toBe(true);
    expect(rows.find((r) => r.id === live)?.next_deadline?.historical).toBe(false);
    const list = formatCaseList(rows, now, h.calendar).split('\n');
    const iLine = list.find((l) => l.startsWith(imported))!;
    expect(iLine).toContain('(imported)');
    expect(iLine).toContain('acknowledge historical');
    expect(iLine).not.toContain('LATE');
    expect(list.find((l) => l.startsWith(live))).toContain('LATE');

    // `psirt deadlines --late`: only the live case's; the full list shows the imported ones as historical.
    const late = listDeadlines(db, { now, late: true });
    expect(late.length).toBeGreaterThan(0);
    expect(late.every((d) => d.case_id === live)).toBe(true);
    expect(countDeadlines(db, { now, late: true })).toBe(late.length);
    const all = formatDeadlines(listDeadlines(db, { now }), now, h.calendar).split('\n');
    for (const l of all.filter((x) => x.startsWith(imported))) {
      expect(l).toContain('historical');
      expect(l).not.toContain('LATE');
    }

    const detail = formatCaseDetail(showCase(db, imported)!);
    expect(detail).toContain('imported from old mail');
    const deadlineLines = detail.split('\n').filter((l) => /^ {2}acknowledge /.test(l));
    expect(deadlineLines).toHaveLength(1);
    expect(deadlineLines[0]).toContain('historical');
    expect(deadlineLines[0]).not.toMatch(/ open$/);

    // The evidence pack: the imported case's stages are historical, not missed; the case says so.
    const period = readEvidencePeriod(db, {
      from: new Date('2024-01-01T00:00:00Z'),
      to: now,
      includeSubjects: false,
      vault: h.vault,
    });
    const cases = analyseCases(period, { calendar: h.calendar, staff: [], now, chains: new Map() });
    const ic = cases.find((c) => c.id === imported)!;
    expect(stateOf(ic)).toContain('imported');
    const judged = everyStage(ic).filter((s) => s.result.verdict !== 'none');
    expect(judged.length).toBeGreaterThan(0);
    expect(judged.every((s) => s.result.verdict === 'historical')).toBe(true);
    const lc = cases.find((c) => c.id === live)!;
    expect(everyStage(lc).some((s) => s.result.verdict === 'missed')).toBe(true);
    expect(stateOf(lc)).not.toContain('imported');
  });

  it('an import that recorded nothing queues no summary; one that did queues one (#15 trial)', () => {
    const db = migratedDb();
    const summaries = (): unknown =>
      db.prepare("SELECT count(*) AS n FROM outbox WHERE kind = 'import-summary'").get();
    const empty = beginAdoption(db, h.clock, 'mbox', '/exports/empty.mbox');
    finishAdoption(db, h.clock, h.config, empty.id);
    expect(summaries()).toEqual({ n: 0 });
    const full = beginAdoption(db, h.clock, 'imap', 'INBOX');
    applyOldReport(db, 8, { adoptionId: full.id });
    finishAdoption(db, h.clock, h.config, full.id);
    expect(summaries()).toEqual({ n: 1 });
  });

  it('are what keeps the sweep quiet: the same old report applied live is escalated at once', () => {
    const db = migratedDb();
    applyOldReport(db, 2, undefined);
    expect(sweep(db).length).toBeGreaterThan(0);
  });
});
