import type { Db } from './db.js';
import { sealedKeyId, type Vault } from '../core/vault.js';
import { openSubject, SEALED_SUBJECT } from './sealed-subject.js';
import { PROTECTED_SUBJECT } from './subject.js';
import { verifyCaseChains, type ChainReport } from './events.js';
import { procedureVersionsInForce, type ProcedureVersionRow } from './procedure-store.js';
import { evidenceHeads, type EvidenceHead } from './evidence-heads.js';

/**
 * The reads of `psirt evidence` (issue #12): what an auditor may see of the cases handled in an
 * audit period, and the record of each archive written.
 *
 * What leaves the store, decided here so no caller can widen it:
 *   - case rows: stage, resolution, severity, CVSS, assignee (staff), dates, hold and waiting
 *     flags, agreed dates, when the retention purge removed the content and under which policy, outside expertise called (organisation names staff typed with
 *     /external, names from the configured expert list), the case it duplicates;
 *   - the subject only when asked for (`includeSubjects`): it may be a reporter's words;
 *   - the legal hold (issue #13): its reason, since when and by which staff member. The reason
 *     is staff-written (why the records must be kept), never report content;
 *   - events: type, time, the actor's ROLE (`system`, `reporter`, `staff` with the staff
 *     address) and a few non-content fields per type (stage names, resolution, severity, hold
 *     flag and its reason). Never the `data` JSON as stored: notes, URLs and organisation texts are left there;
 *   - never a body, raw mail, outbox row, reporter name or reporter ADDRESS: a reporter is
 *     personal data an auditor does not need to check a deadline, so "reporter" is all the
 *     evidence says of them (the actor column is cut to its role in SQL, the address never
 *     leaves SQLite).
 */

export interface EvidenceCaseRow {
  id: string;
  stage: string;
  resolution: string | null;
  severity: string | null;
  cvss_vector: string | null;
  cvss_score: number | null;
  assignee: string | null;
  on_hold: boolean;
  /** The legal hold (issue #13): why, since when, by whom; null when not held or none recorded. */
  hold_reason: string | null;
  held_at: string | null;
  held_by: string | null;
  waiting_on_reporter: boolean;
  created_at: string;
  closed_at: string | null;
  triaged_at: string | null;
  verified_at: string | null;
  fixed_at: string | null;
  published_at: string | null;
  reopened_at: string | null;
  fix_by: string | null;
  disclose_on: string | null;
  /** Outside expertise called in (/external). */
  external: string[];
  /** The case this one was closed as a duplicate of (case_links). */
  duplicate_of: string | null;
  /** When the retention purge removed the case's content (#13); null while it is kept. */
  purged_at?: string | null;
  /** The retention policy (years) the purge applied, from its `case.purged` event. */
  purge_policy_years?: number | null;
  /** Opened by `psirt import` from old mail (issue #15): its first cycle is history, not judged. */
  imported?: boolean;
  /** Only with `includeSubjects`; otherwise absent. */
  subject?: string;
}

/** The event types that mark a stage or a fact the evidence reports; others are not read. */
export const EVIDENCE_EVENT_TYPES = [
  'case.opened',
  'acknowledgment.queued',
  'acknowledgment.held',
  'acknowledgment.skipped',
  'acknowledgment.rate-limited',
  'case.assigned',
  'case.stage-changed',
  'case.severity-set',
  'case.fix-by-set',
  'case.disclosure-scheduled',
  'case.published',
  'case.closed',
  'case.reopened',
  'case.hold',
  'case.waiting-on-reporter',
  'case.external-expertise',
  'case.linked',
  'case.purged',
  'escalation.sent',
] as const;

export interface EvidenceEvent {
  id: number;
  case_id: string;
  at: string;
  type: string;
  actor: 'system' | 'reporter' | 'staff' | 'other';
  /** The staff member's address when `actor` is staff. */
  staff: string | null;
  /** Non-content details: stage names, resolution, severity, hold flag and reason (see above). */
  detail: Record<string, string | boolean>;
}

export interface EvidenceDeadline {
  case_id: string;
  kind: string;
  due_at: string;
  met_at: string | null;
  state: string;
  policy: string;
  calendar: string;
  /** Derived for imported history (issue #15): shown, never judged met or missed. */
  historical?: boolean;
}

/** A deadline of an earlier cycle of a case, kept when /reopen started the deadlines again. */
export interface EvidenceCycleDeadline extends EvidenceDeadline {
  /** When that cycle's clock started (received, or the reopen before) and when it was closed. */
  cycle_started_at: string;
  cycle_ended_at: string;
}

export type { ProcedureVersionRow };

export interface ProcedureStartRow {
  id: number;
  started_at: string;
  config_digest: string;
  roles: string;
  version: string;
}

/** One customer told of one advisory revision (`customer_notifications` and its outbox row). */
export interface EvidenceCustomerNotice {
  case_id: string;
  customer: string;
  address: string;
  revision: number;
  encrypted: boolean;
  queued_at: string;
  /** When the SMTP server accepted it; null while not sent. */
  sent_at: string | null;
}

export interface EvidencePeriod {
  cases: EvidenceCaseRow[];
  events: EvidenceEvent[];
  deadlines: EvidenceDeadline[];
  /** The deadlines of the cases' earlier cycles (deadline_history), oldest cycle first. */
  earlierDeadlines: EvidenceCycleDeadline[];
  /** Outside-expertise escalations sent (the escalation ladder's call to the experts). */
  expertCalls: { case_id: string; sent_at: string }[];
  /** Customers told of which advisory revision, when (issue #14, `/notify`), oldest first. */
  customerNotifications?: EvidenceCustomerNotice[];
  /** The procedure versions in force during the period: the last start before it and every start in it. */
  versions: ProcedureVersionRow[];
  starts: ProcedureStartRow[];
}

/**
 * Everything `psirt evidence` reports for the period [from, to] (instants, inclusive): the cases
 * received in it or with any event in it, with all their evidence events, deadlines and expert
 * calls (the deadlines of earlier cycles too), and the procedure versions in force. Run it on a read-only handle: one read
 * transaction, so every part comes from the same snapshot.
 */
export function readEvidencePeriod(db: Db, opts: EvidenceReadOptions): EvidencePeriod {
  const read = db.transaction(() => readPeriod(db, opts));
  return read.deferred();
}

export interface EvidenceReadOptions {
  from: Date;
  to: Date;
  includeSubjects: boolean;
  /** Opens the sealed subjects (#13) for `includeSubjects`; without it they read "(sealed)". */
  vault?: Vault;
}

/**
 * A case's subject as the evidence may show it (`--include-subjects`): the sealed one opened, but
 * never the subject of a protected report (it travels only inside encrypted mail, decision 0005),
 * "(sealed)" when this process cannot open it, and the clear column of a database before #13.
 */
function evidenceSubject(vault: Vault | undefined, clear: string, sealed: Buffer | null): string {
  if (sealed === null) return clear;
  if (vault === undefined || !vault.canOpen(sealedKeyId(sealed) ?? -1)) return SEALED_SUBJECT;
  const s = openSubject(vault, sealed);
  return s.protected ? PROTECTED_SUBJECT : (s.subject ?? clear);
}

/** The cases of the period (received in it, or with any event in it), as the CTE `s`. */
const SELECTED = `WITH s (id) AS (
  SELECT id FROM cases WHERE created_at BETWEEN @from AND @to
  UNION SELECT case_id FROM events WHERE case_id IS NOT NULL AND at BETWEEN @from AND @to)`;

function readPeriod(db: Db, opts: EvidenceReadOptions): EvidencePeriod {
  const from = opts.from.toISOString();
  const to = opts.to.toISOString();
  const period = { from, to };
  const cases = (
    db
      .prepare(
        `${SELECTED} SELECT c.id, c.stage, c.resolution, c.severity, c.cvss_vector, c.cvss_score, c.assignee, c.on_hold,
                c.hold_reason, c.held_at, c.held_by, c.waiting_on_reporter, c.created_at, c.closed_at, c.triaged_at, c.verified_at, c.fixed_at,
                c.published_at, c.reopened_at, c.fix_by, c.disclose_on, c.external, c.subject, c.subject_sealed,
                (SELECT l.other_id FROM case_links l WHERE l.case_id = c.id AND l.kind = 'duplicate-of'
                  ORDER BY l.created_at DESC LIMIT 1) AS duplicate_of,
                c.purged_at,
                (SELECT json_extract(p.data, '$.policyYears') FROM events p
                  WHERE p.case_id = c.id AND p.type = 'case.purged' ORDER BY p.id DESC LIMIT 1) AS purge_policy_years,
                (c.historical = 1 OR EXISTS (SELECT 1 FROM events i WHERE i.case_id = c.id AND i.type = 'case.imported')) AS imported
         FROM cases c JOIN s ON s.id = c.id
         ORDER BY c.created_at, c.id`,
      )
      .all(period) as (Omit<
      EvidenceCaseRow,
      'on_hold' | 'waiting_on_reporter' | 'external' | 'subject' | 'imported'
    > & {
      on_hold: number;
      imported: number;
      waiting_on_reporter: number;
      external: string;
      subject: string;
      subject_sealed: Buffer | null;
    })[]
  ).map(({ subject, subject_sealed, ...r }) => ({
    ...r,
    on_hold: r.on_hold === 1,
    waiting_on_reporter: r.waiting_on_reporter === 1,
    imported: r.imported === 1,
    external: JSON.parse(r.external) as string[],
    ...(opts.includeSubjects ? { subject: evidenceSubject(opts.vault, subject, subject_sealed) } : {}),
  }));
  const types = EVIDENCE_EVENT_TYPES.map((t) => `'${t}'`).join(', ');
  const events = (
    db
      .prepare(
        `${SELECTED} SELECT e.id, e.case_id, e.at, e.type,
                CASE WHEN e.actor = 'system' THEN 'system'
                     WHEN e.actor LIKE 'reporter:%' THEN 'reporter'
                     WHEN e.actor LIKE 'staff:%' THEN 'staff' ELSE 'other' END AS actor,
                CASE WHEN e.actor LIKE 'staff:%' THEN substr(e.actor, 7) END AS staff,
                json_object(
                  'from', json_extract(e.data, '$.from'), 'to', json_extract(e.data, '$.to'),
                  'resolution', json_extract(e.data, '$.resolution'),
                  'duplicateOf', json_extract(e.data, '$.duplicateOf'),
                  'severity', json_extract(e.data, '$.severity'),
                  'onHold', CASE e.type WHEN 'case.hold' THEN json_extract(e.data, '$.onHold') END,
                  'reason', CASE e.type WHEN 'case.hold' THEN json_extract(e.data, '$.reason') END,
                  'waiting', CASE e.type WHEN 'case.waiting-on-reporter' THEN json_extract(e.data, '$.waiting') END,
                  'deadline', CASE e.type WHEN 'escalation.sent' THEN json_extract(e.data, '$.deadline') END,
                  'assignee', CASE e.type WHEN 'case.assigned' THEN json_extract(e.data, '$.assignee') END,
                  'policyYears', CASE e.type WHEN 'case.purged' THEN CAST(json_extract(e.data, '$.policyYears') AS TEXT) END,
                  'keptUntil', CASE e.type WHEN 'case.purged' THEN json_extract(e.data, '$.keptUntil') END
                ) AS detail
         FROM events e JOIN s ON s.id = e.case_id
         WHERE e.type IN (${types})
         ORDER BY e.id`,
      )
      .all(period) as (Omit<EvidenceEvent, 'detail'> & { detail: string })[]
  ).map((e) => ({ ...e, detail: present(JSON.parse(e.detail) as Record<string, unknown>) }));
  const deadlines = (
    db
      .prepare(
        `${SELECTED} SELECT d.case_id, d.kind, d.due_at, d.met_at, d.state, d.policy, d.calendar, d.historical
       FROM deadlines d JOIN s ON s.id = d.case_id ORDER BY d.case_id, d.due_at`,
      )
      .all(period) as (Omit<EvidenceDeadline, 'historical'> & { historical: number })[]
  ).map((d) => ({ ...d, historical: d.historical === 1 }));
  const earlierDeadlines = db
    .prepare(
      `${SELECTED} SELECT h.case_id, h.kind, h.due_at, h.met_at, h.state, h.policy, h.calendar,
              h.cycle_started_at, h.cycle_ended_at
       FROM deadline_history h JOIN s ON s.id = h.case_id ORDER BY h.case_id, h.cycle_started_at, h.due_at`,
    )
    .all(period) as EvidenceCycleDeadline[];
  const expertCalls = db
    .prepare(
      `${SELECTED} SELECT x.case_id, x.sent_at FROM escalations x JOIN s ON s.id = x.case_id
       WHERE x.deadline = 'outside-expertise' AND x.state = 'sent' AND x.sent_at IS NOT NULL ORDER BY x.sent_at`,
    )
    .all(period) as EvidencePeriod['expertCalls'];
  const customerNotifications = (
    db
      .prepare(
        `${SELECTED} SELECT n.case_id, n.customer, n.address, n.revision, n.encrypted, n.queued_at, o.sent_at
         FROM customer_notifications n JOIN s ON s.id = n.case_id LEFT JOIN outbox o ON o.id = n.outbox_id
         ORDER BY n.case_id, n.id`,
      )
      .all(period) as (Omit<EvidenceCustomerNotice, 'encrypted'> & { encrypted: number })[]
  ).map((r) => ({ ...r, encrypted: r.encrypted === 1 }));
  // One reading of "in force" for the evidence and everything else (src/7-cases/procedure-store.ts).
  const inForce = procedureVersionsInForce(db, opts.from, opts.to);
  const versions: ProcedureVersionRow[] = inForce.map((v) => ({
    config_digest: v.configDigest,
    first_started_at: v.firstStartedAt,
    policy_digest: v.policyDigest,
    calendar_digest: v.calendarDigest,
    team_fingerprint: v.teamFingerprint,
    team_key_expires: v.teamKeyExpires,
    config_json: v.configJson,
  }));
  const starts: ProcedureStartRow[] = inForce
    .flatMap((v) =>
      v.starts.map((st) => ({
        id: st.id,
        started_at: st.startedAt,
        config_digest: v.configDigest,
        roles: st.roles.join(', '),
        version: st.version,
      })),
    )
    .sort((a, b) => a.started_at.localeCompare(b.started_at) || a.id - b.id);
  return { cases, events, deadlines, earlierDeadlines, expertCalls, customerNotifications, versions, starts };
}

/** The JSON object without its null members (json_object keeps them). SQLite gives 0/1 for booleans. */
function present(o: Record<string, unknown>): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = v === true || v === 1;
  }
  return out;
}

/**
 * The period's rows and the verdict of the whole event chain from ONE snapshot (one read
 * transaction): the chain head the archive records is the head the verdicts were computed on.
 */
export function readEvidenceSnapshot(
  db: Db,
  opts: EvidenceReadOptions,
): { period: EvidencePeriod; chain: ChainReport; earlierArchives: EvidenceHead[] } {
  return db
    .transaction(() => ({
      period: readPeriod(db, opts),
      chain: verifyCaseChains(db),
      earlierArchives: evidenceHeads(db),
    }))
    .deferred();
}

export interface EvidenceExport {
  writtenAt: Date;
  periodFrom: string;
  periodTo: string;
  head: { eventId: number; hash: string } | null;
  manifestSha256: string;
  archive: string;
}

/** Records one written archive (`psirt verify` checks its chain head later); returns the row id. */
export function recordEvidenceExport(db: Db, e: EvidenceExport): number {
  const info = db
    .prepare(
      `INSERT INTO evidence_exports (written_at, period_from, period_to, head_event_id, head_hash, manifest_sha256, archive)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      e.writtenAt.toISOString(),
      e.periodFrom,
      e.periodTo,
      e.head?.eventId ?? null,
      e.head?.hash ?? null,
      e.manifestSha256,
      e.archive,
    );
  return Number(info.lastInsertRowid);
}
