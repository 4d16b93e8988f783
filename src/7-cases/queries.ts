import { acknowledgmentOf, type AckStatus } from './first-contact.js';
import type { Db } from './db.js';

export interface CaseListRow {
  id: string;
  stage: string;
  resolution: string | null;
  severity: string | null;
  reporter_address: string;
  subject: string;
  /** The real subject, sealed (#13); the reader opens it (null: stored before sealing). */
  subject_sealed: Buffer | null;
  flags: string[];
  assignee: string | null;
  on_hold: boolean;
  /** The legal hold's reason and since when (issue #13); null when not held or none recorded. */
  hold_reason: string | null;
  held_at: string | null;
  created_at: string;
  /** Derived from the original dates of imported history (issue #15): shown, never live work. */
  next_deadline: { kind: string; due_at: string; state: 'open' | 'paused'; historical: boolean } | null;
  waiting_on_reporter: boolean;
  /** Opened by `psirt import` from old mail (issue #15). */
  historical: boolean;
}

/** Cases newest first; `open` leaves out closed ones. The next open deadline comes with each. */
export function listCases(db: Db, opts: { open?: boolean; limit?: number } = {}): CaseListRow[] {
  const rows = db
    .prepare(
      `SELECT c.id, c.stage, c.resolution, c.severity, c.reporter_address, c.subject, c.subject_sealed, c.flags, c.assignee, c.on_hold,
              c.hold_reason, c.held_at, c.waiting_on_reporter, c.created_at, c.historical,
              (SELECT json_object('kind', d.kind, 'due_at', d.due_at, 'state', d.state, 'historical', d.historical = 1) FROM deadlines d
                WHERE d.case_id = c.id AND d.state IN ('open', 'paused') ORDER BY d.due_at LIMIT 1) AS next_deadline
       FROM cases c ${opts.open ? "WHERE c.stage <> 'closed'" : ''}
       ORDER BY c.created_at DESC, c.id DESC LIMIT ?`,
    )
    .all(opts.limit ?? 1000) as (Omit<
    CaseListRow,
    'flags' | 'on_hold' | 'next_deadline' | 'waiting_on_reporter' | 'historical'
  > & {
    flags: string;
    on_hold: number;
    historical: number;
    waiting_on_reporter: number;
    next_deadline: string | null;
  })[];
  return rows.map((r) => ({
    ...r,
    flags: JSON.parse(r.flags) as string[],
    on_hold: r.on_hold === 1,
    waiting_on_reporter: r.waiting_on_reporter === 1,
    historical: r.historical === 1,
    next_deadline: r.next_deadline === null ? null : nextDeadline(r.next_deadline),
  }));
}

function nextDeadline(json: string): CaseListRow['next_deadline'] {
  const d = JSON.parse(json) as {
    kind: string;
    due_at: string;
    state: 'open' | 'paused';
    historical: number;
  };
  return { ...d, historical: d.historical === 1 };
}

/** How many cases `listCases` could show (for "… and N more"). */
export function countCases(db: Db, opts: { open?: boolean } = {}): number {
  return (
    db.prepare(`SELECT count(*) AS n FROM cases ${opts.open ? "WHERE stage <> 'closed'" : ''}`).get() as {
      n: number;
    }
  ).n;
}

/**
 * `--late` leaves out historical deadlines (imported history, issue #15): they were derived from
 * the original dates, nobody can meet them now, and they are never escalated.
 */
const LATE = 'AND d.due_at <= ? AND d.historical = 0';

/** How many deadlines `listDeadlines` could show. */
export function countDeadlines(db: Db, opts: { now: Date; late?: boolean }): number {
  return (
    db
      .prepare(
        `SELECT count(*) AS n FROM deadlines d WHERE d.state IN ('open', 'paused') ${opts.late ? LATE : ''}`,
      )
      .get(...(opts.late ? [opts.now.toISOString()] : [])) as { n: number }
  ).n;
}

export interface CaseDetail {
  case: Record<string, unknown>;
  timeline: {
    id: number;
    at: string;
    type: string;
    actor: string;
    auth: string | null;
    message_id: string | null;
    data: unknown;
    /** The event's place in the hash chain, so a shared timeline can be checked (#12). */
    prev_hash: string;
    hash: string;
  }[];
  messages: {
    id: number;
    message_id: string | null;
    sender: string | null;
    size: number;
    state: string;
    filed_to: string | null;
    failure: string | null;
    stored_at: string;
    verdict: unknown;
  }[];
  outbox: {
    id: number;
    kind: string;
    recipients: string[];
    message_id: string;
    state: string;
    attempts: number;
    last_error: string | null;
    sent_at: string | null;
  }[];
  /** `historical`: derived for imported history (issue #15), never live work. */
  deadlines: { kind: string; due_at: string; state: string; met_at: string | null; historical: boolean }[];
  keys: { fingerprint: string; source: string; status: string; first_seen_at: string }[];
  links: { other_id: string; kind: string }[];
  /** Sent, queued, held back by the flood guard (and why), or skipped (issue #10). */
  acknowledgment: AckStatus;
}

/** Everything recorded about one case, for `psirt cases show` and the auditor. Never raw mail. */
export function showCase(db: Db, id: string): CaseDetail | null {
  const c = db.prepare('SELECT * FROM cases WHERE id = ?').get(id) as Record<string, unknown> | undefined;
  if (!c) return null;
  const parse = (s: unknown): unknown => (typeof s === 'string' ? JSON.parse(s) : s);
  return {
    case: {
      ...c,
      flags: parse(c.flags),
      tags: parse(c.tags),
      external: parse(c.external),
      on_hold: c.on_hold === 1,
      waiting_on_reporter: c.waiting_on_reporter === 1,
    },
    timeline: (
      db
        .prepare(
          'SELECT id, at, type, actor, auth, message_id, data, prev_hash, hash FROM events WHERE case_id = ? ORDER BY id',
        )
        .all(id) as (Omit<CaseDetail['timeline'][number], 'data'> & { data: string })[]
    ).map((e) => ({ ...e, data: parse(e.data) })),
    messages: (
      db
        .prepare(
          'SELECT id, message_id, sender, size, state, filed_to, failure, stored_at, verdict FROM messages WHERE case_id = ? ORDER BY id',
        )
        .all(id) as (Omit<CaseDetail['messages'][number], 'verdict'> & { verdict: string | null })[]
    ).map((m) => ({ ...m, verdict: m.verdict === null ? null : parse(m.verdict) })),
    outbox: (
      db
        .prepare(
          'SELECT id, kind, recipients, message_id, state, attempts, last_error, sent_at FROM outbox WHERE case_id = ? ORDER BY id',
        )
        .all(id) as (Omit<CaseDetail['outbox'][number], 'recipients'> & { recipients: string })[]
    ).map((o) => ({ ...o, recipients: JSON.parse(o.recipients) as string[] })),
    deadlines: (
      db
        .prepare(
          'SELECT kind, due_at, state, met_at, historical FROM deadlines WHERE case_id = ? ORDER BY due_at',
        )
        .all(id) as (Omit<CaseDetail['deadlines'][number], 'historical'> & { historical: number })[]
    ).map((d) => ({ ...d, historical: d.historical === 1 })),
    keys: db
      .prepare(
        `SELECT fingerprint, source, status, first_seen_at FROM reporter_keys
         WHERE address = (SELECT reporter_address FROM cases WHERE id = ?) ORDER BY id`,
      )
      .all(id) as CaseDetail['keys'],
    links: db
      .prepare(
        'SELECT other_id, kind FROM case_links WHERE case_id = ? UNION SELECT case_id, kind FROM case_links WHERE other_id = ?',
      )
      .all(id, id) as CaseDetail['links'],
    acknowledgment: acknowledgmentOf(db, id),
  };
}

export interface DeadlineRow {
  case_id: string;
  kind: string;
  due_at: string;
  state: 'open' | 'paused';
  stage: string;
  severity: string | null;
  assignee: string | null;
  /** When the next escalation step of this deadline fires, if one is pending. */
  next_step_at: string | null;
  /** Imported history (issue #15): shown as historical, never late. */
  historical: boolean;
}

/**
 * Open and paused deadlines across cases, soonest first (`psirt deadlines`); `late` keeps only
 * those already past `now`. Uses the `deadlines_due` index.
 */
export function listDeadlines(db: Db, opts: { now: Date; late?: boolean; limit?: number }): DeadlineRow[] {
  const rows = db
    .prepare(
      `SELECT d.case_id, d.kind, d.due_at, d.state, c.stage, c.severity, c.assignee, d.historical,
              (SELECT min(e.fire_at) FROM escalations e
                WHERE e.case_id = d.case_id AND e.deadline = d.kind AND e.state = 'pending') AS next_step_at
       FROM deadlines d JOIN cases c ON c.id = d.case_id
       WHERE d.state IN ('open', 'paused') ${opts.late ? LATE : ''}
       ORDER BY d.due_at LIMIT ?`,
    )
    .all(...(opts.late ? [opts.now.toISOString()] : []), opts.limit ?? 1000) as (Omit<
    DeadlineRow,
    'historical'
  > & { historical: number })[];
  return rows.map((r) => ({ ...r, historical: r.historical === 1 }));
}
