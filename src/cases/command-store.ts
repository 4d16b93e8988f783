import type { Calendar } from '../calendar/calendar.js';
import { planCommands, type CaseState, type CommandOutcome } from '../commands/plan.js';
import type { StaffMailInput } from '../commands/prepare.js';
import type { Config, StatusEvent } from '../config/schema.js';
import type { CaseFlag } from '../core/flags.js';
import type { CaseSnapshot } from '../outbox/kinds/snapshot.js';
import type { OutboxPayload } from '../outbox/kinds/index.js';
import type { ReporterReplyPayload } from '../outbox/kinds/reporter-reply.js';
import type { ReporterStatusPayload } from '../outbox/kinds/reporter-status.js';
import type { Db } from './db.js';
import { loadCaseRow, syncDeadlines, toState } from './deadline-store.js';
import { acknowledgmentOf } from './first-contact.js';
import { replySubject, sanitizeSubject } from './subject.js';

function saveState(db: Db, s: CaseState, at: string): void {
  db.prepare(
    `UPDATE cases SET stage = ?, resolution = ?, severity = ?, cvss_vector = ?, cvss_score = ?, assignee = ?,
       on_hold = ?, waiting_on_reporter = ?, tags = ?, cve = ?, fix_by = ?, disclose_on = ?, advisory_url = ?,
       credit = ?, external = ?, closed_at = ?, reopened_at = ?, triaged_at = ?, verified_at = ?, fixed_at = ?,
       published_at = ?, updated_at = ?
     WHERE id = ?`,
  ).run(
    s.stage,
    s.resolution,
    s.severity,
    s.cvssVector,
    s.cvssScore,
    s.assignee,
    s.onHold ? 1 : 0,
    s.waitingOnReporter ? 1 : 0,
    JSON.stringify(s.tags),
    s.cve,
    s.fixBy,
    s.discloseOn,
    s.advisoryUrl,
    s.credit,
    JSON.stringify(s.external),
    s.closedAt,
    s.reopenedAt,
    s.triagedAt,
    s.verifiedAt,
    s.fixedAt,
    s.publishedAt,
    at,
    s.id,
  );
}

/** The reporter's thread: every Message-ID they sent on the case and every mail we sent them. */
export function reporterThread(
  db: Db,
  caseId: string,
  reporter: string,
): { inReplyTo: string | null; references: string[] } {
  const ids = (
    db
      .prepare(
        `SELECT message_id, at, ord FROM (
           SELECT message_id, stored_at AS at, 0 AS ord, id FROM messages
             WHERE case_id = ? AND sender = ? AND message_id IS NOT NULL AND state = 'applied'
           UNION ALL
           SELECT message_id, created_at AS at, 1 AS ord, id FROM outbox
             WHERE case_id = ? AND kind IN ('acknowledgment', 'reporter-status', 'reporter-reply'))
         ORDER BY at, ord, id`,
      )
      .all(caseId, reporter, caseId) as { message_id: string }[]
  ).map((r) => r.message_id);
  const unique = [...new Set(ids)];
  // RFC 5322 §3.6.4: keep the first and the most recent ones when the chain grows long.
  const references = unique.length > 20 ? [unique[0] ?? '', ...unique.slice(-19)] : unique;
  return { inReplyTo: unique.at(-1) ?? null, references };
}

export function snapshot(db: Db, caseId: string): CaseSnapshot | null {
  const r = loadCaseRow(db, caseId);
  if (r === null) return null;
  const fix = db
    .prepare("SELECT due_at FROM deadlines WHERE case_id = ? AND kind = 'fix' AND state <> 'cancelled'")
    .get(caseId) as { due_at: string } | undefined;
  const dup = db
    .prepare(
      "SELECT other_id FROM case_links WHERE case_id = ? AND kind = 'duplicate-of' ORDER BY created_at DESC",
    )
    .get(caseId) as { other_id: string } | undefined;
  const st = toState(r);
  return {
    stage: st.stage,
    resolution: st.resolution,
    severity: st.severity,
    cvssScore: st.cvssScore,
    cvssVector: st.cvssVector,
    assignee: st.assignee,
    onHold: st.onHold,
    waitingOnReporter: st.waitingOnReporter,
    tags: st.tags,
    cve: st.cve,
    fixDue: fix?.due_at ?? null,
    discloseOn: st.discloseOn,
    advisoryUrl: st.advisoryUrl,
    credit: st.credit,
    duplicateOf: r.resolution === 'duplicate' ? (dup?.other_id ?? null) : null,
  };
}

/** The tools the surrounding apply transaction lends the staff branch. */
export interface TxTools {
  db: Db;
  config: Config;
  calendar: Calendar;
  caseIdPattern: string;
  now: Date;
  messageRowId: number;
  messageId: string | null;
  /** The command mail's own References, for threading the confirmation under it. */
  references: string[];
  subject: string;
  event(caseId: string | null, type: string, data: Record<string, unknown>, who: Actor): void;
  outbox(o: NewOutboxRow): void;
}

/** An outbox row to insert; the store mints its Message-ID. */
export interface NewOutboxRow {
  caseId: string | null;
  kind: string;
  dedupeKey: string;
  recipients: string[];
  inReplyTo: string | null;
  references: string[];
  subject: string;
  payload: OutboxPayload;
}

export interface Actor {
  actor: string;
  auth: string | null;
}

function localDate(zone: string, at: Date): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);
}

function rejectionsLastHour(db: Db, address: string, now: Date): number {
  const hourAgo = new Date(now.getTime() - 3_600_000).toISOString();
  return (
    db
      .prepare(
        "SELECT count(*) AS n FROM outbox WHERE kind = 'command-rejected' AND recipients = json_array(?) AND created_at > ?",
      )
      .get(address, hourAgo) as { n: number }
  ).n;
}

const REFUSAL_SUBJECT = {
  'staff.unauthenticated': 'your mail was not authenticated',
  'staff.replay': 'a signature used before (replay)',
  'staff.tampered': 'the subject or Message-ID was changed after signing',
} as const;

/**
 * Applies a mail from a configured staff address inside the intake transaction (issue #4).
 * Unauthenticated or replayed: nothing changes; the member's configured address (never Reply-To)
 * is told, rate-limited. Authenticated: the commands are planned against the case and the RACI
 * matrix, the case, its events, deadlines and mails are written, and the member gets a
 * confirmation on the case thread.
 */
export function applyStaffMail(
  t: TxTools,
  threadedCase: string | null,
  input: StaffMailInput,
  conflict?: { tag: string; thread: string },
): void {
  const { db, config, now } = t;
  const at = now.toISOString();
  const address = input.member.address.toLowerCase();
  const commandCount = input.parsed.commands.length + input.parsed.rejected.length;
  // Commands go only to the case the authenticated subject names, never to one that unsigned
  // In-Reply-To/References point at (#10 review): without a tag they meet the "no case" answer.
  const caseId = commandCount > 0 && !input.namesCase ? null : threadedCase;
  const thread = {
    inReplyTo: t.messageId,
    references: [...t.references, ...(t.messageId === null ? [] : [t.messageId])],
  };
  const caseSubject = (id: string): string => {
    const c = db.prepare('SELECT subject FROM cases WHERE id = ?').get(id) as { subject: string } | undefined;
    return replySubject(id, c?.subject ?? '', t.caseIdPattern);
  };

  const refuse = (
    type: 'staff.unauthenticated' | 'staff.replay' | 'staff.tampered',
    reason: string,
  ): void => {
    t.event(caseId, type, { reason, commands: commandCount }, { actor: `unverified:${address}`, auth: null });
    // Only mail that tried to command is answered: a plain unsigned staff mail is just recorded.
    // A tampered one always is: the commands someone added on the way are in its outer Subject.
    if (commandCount === 0 && type !== 'staff.tampered') return;
    if (rejectionsLastHour(db, address, now) >= config.commands.max_rejections_per_hour) {
      t.event(caseId, 'staff.rejection-rate-limited', {}, { actor: 'system', auth: null });
      return;
    }
    t.outbox({
      caseId,
      kind: 'command-rejected',
      dedupeKey: `reject:${t.messageRowId}`,
      recipients: [address],
      inReplyTo: null,
      references: [],
      subject: sanitizeSubject(
        `${caseId === null ? '' : `[${caseId}] `}Commands NOT applied: ${REFUSAL_SUBJECT[type]}`,
      ),
      payload: {
        template: 'command-rejected',
        messageRowId: t.messageRowId,
        autoSubmitted: 'auto-generated',
        flags: [],
        reason,
        replay: type === 'staff.replay',
        tampered: type === 'staff.tampered',
        claimedMessageId: t.messageId,
        commands: [
          ...input.parsed.commands.map((c) => `/${c.name}`),
          ...input.parsed.rejected.map((r) => r.text),
        ],
      },
    });
  };

  if (!input.auth.ok) {
    refuse('staff.unauthenticated', input.auth.reason);
    return;
  }
  const auth = input.auth;
  // Before the replay guard: a copy altered on the way must not use up the genuine signature.
  if (input.tampered !== null) {
    refuse('staff.tampered', input.tampered);
    return;
  }
  const used = db.prepare('SELECT message_row FROM command_signatures WHERE digest = ?').get(auth.digest) as
    { message_row: number } | undefined;
  if (used) {
    refuse('staff.replay', `this signature was already used (stored message ${used.message_row}): a replay`);
    return;
  }
  db.prepare(
    'INSERT INTO command_signatures (digest, method, staff, message_row, used_at) VALUES (?, ?, ?, ?, ?)',
  ).run(auth.digest, auth.method, address, t.messageRowId, at);
  const who: Actor = { actor: `staff:${address}`, auth: auth.label };

  if (caseId === null) {
    t.event(
      null,
      'staff.mail-unthreaded',
      { commands: commandCount, ...(conflict ? { conflict } : {}) },
      who,
    );
    const why =
      conflict === undefined
        ? 'no case: reply to a case mail and keep the [case id] tag in the subject'
        : `the subject names ${conflict.tag} but the mail replies to the thread of ${conflict.thread}: nothing applied; send it again with the tag of the case you mean on that case's thread`;
    if (commandCount === 0) return;
    const help = input.parsed.commands.some((c) => c.name === 'help');
    const outcomes: CommandOutcome[] = [
      ...input.parsed.rejected.map((r) => ({ text: r.text, applied: false, detail: r.reason })),
      ...input.parsed.commands
        .filter((c) => c.name !== 'help')
        .map((c) => ({
          text: `/${c.name}`,
          applied: false,
          detail: why,
        })),
      ...(help ? [{ text: '/help', applied: true, detail: 'the command list is below' }] : []),
    ];
    t.outbox({
      caseId: null,
      kind: 'command-confirmation',
      dedupeKey: `confirm:${t.messageRowId}`,
      recipients: [address],
      ...thread,
      // sanitizeSubject makes the commands inert: replying to this does not send them again.
      subject: sanitizeSubject(`Re: ${t.subject.trim() === '' ? '(no subject)' : t.subject}`),
      payload: {
        template: 'command-confirmation',
        messageRowId: t.messageRowId,
        autoSubmitted: 'auto-replied',
        flags: [],
        outcomes,
        help,
        snapshot: null,
      },
    });
    return;
  }

  const row = loadCaseRow(db, caseId);
  if (row === null) throw new Error(`case ${caseId} is not stored`);
  const plan = planCommands(toState(row), input.parsed, {
    now: at,
    today: localDate(config.calendar.time_zone, now),
    actor: input.member,
    staff: config.staff,
    raci: config.raci,
    statusEvents: config.status_mails.events,
    caseExists: (id) => db.prepare('SELECT 1 FROM cases WHERE id = ?').get(id) !== undefined,
    ownText: input.ownText,
    acknowledgment: acknowledgmentOf(db, caseId).state,
  });
  saveState(db, plan.final, at);
  for (const e of plan.events) t.event(caseId, e.type, e.data, who);
  for (const o of plan.outcomes.filter((x) => !x.applied)) {
    t.event(caseId, 'command.rejected', { command: o.text, reason: o.detail }, who);
  }
  if (!plan.reply) t.event(caseId, 'case.note', { chars: input.ownText.length }, who);
  if (plan.ack) {
    // The acknowledge deadline the flood guard cancelled runs again, with its first due date, and
    // is met when this mail reaches the reporter (outbox-store markSent), like any reporter mail.
    db.prepare(
      "UPDATE deadlines SET state = 'open', updated_at = ? WHERE case_id = ? AND kind = 'acknowledge' AND state = 'cancelled'",
    ).run(at, caseId);
  }
  for (const l of plan.links) {
    db.prepare(
      'INSERT OR IGNORE INTO case_links (case_id, other_id, kind, created_at) VALUES (?, ?, ?, ?)',
    ).run(caseId, l.otherId, l.kind, at);
  }
  syncDeadlines(db, caseId, config, t.calendar, at);
  const snap = snapshot(db, caseId);

  // The confirmation threads under the command mail; its subject drops the commands, so that
  // replying to it does not send them again.
  t.outbox({
    caseId,
    kind: 'command-confirmation',
    dedupeKey: `confirm:${t.messageRowId}`,
    recipients: [address],
    ...thread,
    subject: caseSubject(caseId),
    payload: {
      template: 'command-confirmation',
      messageRowId: t.messageRowId,
      autoSubmitted: 'auto-replied',
      flags: [],
      outcomes: plan.outcomes,
      help: plan.help,
      snapshot: snap,
      authLabel: auth.label,
    },
  });
  if (plan.assigned !== null) {
    t.outbox({
      caseId,
      kind: 'assignment',
      dedupeKey: `assign:${t.messageRowId}:${plan.assigned}`,
      recipients: [plan.assigned],
      inReplyTo: null,
      references: [],
      subject: sanitizeSubject(`[${caseId}] Assigned to you by ${input.member.name}`),
      payload: {
        template: 'assignment',
        messageRowId: t.messageRowId,
        autoSubmitted: 'auto-generated',
        flags: [],
        by: input.member.name,
        snapshot: snap,
      },
    });
  }
  const reporter = plan.final.reporterAddress;
  const toReporter = (
    kind: 'reporter-status' | 'reporter-reply',
    key: string,
    extra:
      | Pick<ReporterStatusPayload, 'template' | 'autoSubmitted' | 'statusEvent'>
      | Pick<ReporterReplyPayload, 'template' | 'autoSubmitted' | 'staffName'>,
  ): void => {
    const th = reporterThread(db, caseId, reporter);
    t.outbox({
      caseId,
      kind,
      dedupeKey: key,
      recipients: [reporter],
      inReplyTo: th.inReplyTo,
      references: th.references,
      subject: replySubject(caseId, row.subject, t.caseIdPattern),
      payload: { messageRowId: t.messageRowId, flags: [], snapshot: snap, ...extra },
    });
  };
  if (reporter !== '') {
    for (const event of plan.statusMails) {
      toReporter('reporter-status', `status:${t.messageRowId}:${event}`, {
        template: 'reporter-status',
        autoSubmitted: 'auto-generated',
        statusEvent: event satisfies StatusEvent,
      });
    }
    if (plan.ack) {
      // The held acknowledgment itself: the same template, on the reporter's thread (issue #10).
      const report = db
        .prepare('SELECT id FROM messages WHERE case_id = ? AND sender = ? ORDER BY id LIMIT 1')
        .get(caseId, reporter) as { id: number } | undefined;
      const th = reporterThread(db, caseId, reporter);
      t.outbox({
        caseId,
        kind: 'acknowledgment',
        dedupeKey: `ack-command:${caseId}`,
        recipients: [reporter],
        inReplyTo: th.inReplyTo,
        references: th.references,
        subject: replySubject(caseId, row.subject, t.caseIdPattern),
        payload: {
          template: 'acknowledgment',
          messageRowId: report?.id ?? t.messageRowId,
          autoSubmitted: 'auto-replied',
          // The report's flags: unreadable mail gets only "it arrived", as automatically.
          flags: JSON.parse(
            (db.prepare('SELECT flags FROM cases WHERE id = ?').get(caseId) as { flags: string }).flags,
          ) as CaseFlag[],
        },
      });
    }
    if (plan.reply) {
      toReporter('reporter-reply', `reply:${t.messageRowId}`, {
        template: 'reporter-reply',
        // A person wrote it: not an automatic reply (RFC 3834 §5).
        autoSubmitted: 'no',
        staffName: input.member.name,
      });
    }
  }
}
