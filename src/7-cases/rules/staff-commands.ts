import type { CaseFlag } from '../../core/flags.js';
import type { Calendar } from '../../calendar/calendar.js';
import { planCommands, type CaseState, type CommandPlan } from '../../6-commands/plan.js';
import type { StaffMailInput } from '../../6-commands/prepare.js';
import type { Config, StatusEvent } from '../../config/schema.js';
import type { CaseSnapshot } from '../../8-outbox/kinds/snapshot.js';
import type { Actor } from '../command-store.js';
import type { AckStatus } from './first-contact.js';
import { replySubject, sanitizeSubject } from '../subject.js';
import { localDateOf } from '../../policy/retention.js';
import type { AdvisoryFields, RevisionEntry } from '../../advisory/model.js';
import { toState, type CaseRow } from './case-row.js';
import { advisoryWrites } from './advisory.js';
import { notifyCustomers, type CustomerFacts } from './customers.js';
import { addEvent, type CaseChange, type MailFacts } from './change.js';
import {
  planDeadlineSync,
  PAUSE_EVENTS,
  type DeadlineRow,
  type DeadlineSync,
  type PauseEvent,
} from './deadlines.js';

/** What an authenticated staff mail's commands do to its case (issue #4). Pure. */

/** What the staff rules read about the case the commands go to. */
export interface StaffCaseFacts {
  row: CaseRow;
  flags: CaseFlag[];
  acknowledgment: AckStatus['state'];
  /** Which of the case ids the commands name (/duplicate, /link) exist. */
  existingCases: ReadonlySet<string>;
  /** The first stored message the reporter filed to the case (the report). */
  reportRowId: number | null;
  /** Message-IDs of the reporter's thread, oldest first. */
  reporterThread: string[];
  deadlines: DeadlineRow[];
  pauses: PauseEvent[];
  /** The case's `duplicate-of` links. */
  duplicateLinks: { otherId: string; createdAt: string }[];
  /** The advisory fields, opened from `cases.advisory_sealed` (issue #14). */
  advisory: AdvisoryFields;
  /** Published revisions so far, oldest first. */
  revisionHistory: RevisionEntry[];
  /** Drafts sent to the reporter so far. */
  drafts: number;
  /** How a draft can reach the reporter (PlanContext.reporterDraft; issue #14). */
  draftChannel: 'encrypted' | 'clear-report' | 'no-key';
  /** Who was told of which revision, and the products of the last revision (`/notify`). */
  customers: CustomerFacts;
}

export interface StaffContext {
  config: Config;
  calendar: Calendar;
  caseIdPattern: string;
}

/** A staff mail being decided. */
export interface StaffMail {
  change: CaseChange;
  mail: MailFacts;
  input: StaffMailInput;
  caseId: string | null;
  address: string;
  commandCount: number;
  thread: { inReplyTo: string | null; references: string[] };
}

/** Today's date (YYYY-MM-DD) in `zone`: agreed dates may not lie before it. */
export function localDate(zone: string, at: Date): string {
  return localDateOf(at, zone);
}

/** Plans the commands and records what they change: case, events, links, deadlines, mails. */
export function applyCommands(
  m: StaffMail,
  caseId: string,
  f: StaffCaseFacts,
  who: Actor,
  authLabel: string,
  ctx: StaffContext,
): void {
  const { change, mail, input } = m;
  const plan = planCommands(toState(f.row, f.advisory, f.revisionHistory.length), input.parsed, {
    now: mail.at,
    today: localDate(ctx.config.calendar.time_zone, mail.now),
    actor: input.member,
    staff: ctx.config.staff,
    raci: ctx.config.raci,
    statusEvents: ctx.config.status_mails.events,
    caseExists: (id) => f.existingCases.has(id),
    ownText: input.ownText,
    acknowledgment: f.acknowledgment,
    products: ctx.config.products.map((p) => p.id),
    reporterDraft: f.draftChannel,
  });
  change.caseWrites = { id: caseId, state: plan.final };
  advisoryWrites(
    change,
    mail,
    caseId,
    plan,
    { createdAt: f.row.created_at, revisionHistory: f.revisionHistory, drafts: f.drafts },
    input.member.address,
  );
  for (const e of plan.events) addEvent(change, mail, caseId, e.type, e.data, who);
  const notified = notifyCustomers(
    change,
    mail,
    caseId,
    plan,
    f.customers,
    ctx.config.customers,
    who,
    input.member.address,
  );
  if (notified !== null)
    for (const o of plan.outcomes) if (o.applied && o.text === '/notify') o.detail = notified.detail;
  for (const o of plan.outcomes.filter((x) => !x.applied)) {
    addEvent(change, mail, caseId, 'command.rejected', { command: o.text, reason: o.detail }, who);
  }
  if (!plan.reply) addEvent(change, mail, caseId, 'case.note', { chars: input.ownText.length }, who);
  // The acknowledge deadline the flood guard cancelled runs again, with its first due date, and
  // is met when this mail reaches the reporter (outbox-store markSent), like any reporter mail.
  if (plan.ack) change.acknowledge = { effect: 'reopen', caseId };
  for (const l of plan.links) change.links.push({ caseId, otherId: l.otherId, kind: l.kind });
  change.deadlines = deadlinesAfter(plan, f, mail.at, ctx);
  const fix = change.deadlines.after.find((d) => d.kind === 'fix' && d.state !== 'cancelled');
  const snap = snapshotOf(plan.final, fix?.due_at ?? null, duplicateOf(f, plan, mail.at));
  staffMails(m, caseId, f, plan, snap, authLabel, ctx);
  if (plan.draft) draftMail(m, caseId, f, plan, who, ctx);
}

/**
 * The case's deadlines and escalation steps after a plan (the one deadline effect of a change),
 * from the stored ones, the pause events before and those the plan adds at `at`.
 */
export function deadlinesAfter(
  plan: CommandPlan,
  f: Pick<StaffCaseFacts, 'row' | 'deadlines' | 'pauses'>,
  at: string,
  ctx: Pick<StaffContext, 'config' | 'calendar'>,
): DeadlineSync {
  const deadlines = f.deadlines.map((d) =>
    plan.ack && d.kind === 'acknowledge' && d.state === 'cancelled' ? { ...d, state: 'open' } : d,
  );
  const pauses = [
    ...f.pauses,
    ...plan.events
      .filter((e) => PAUSE_EVENTS.includes(e.type))
      .map((e) => ({ at, type: e.type, data: e.data })),
  ];
  // A reopen ends the cycle that ran since the report (or the last reopen); it closed then, or
  // in this same mail.
  const reopened = plan.final.reopenedAt !== null && plan.final.reopenedAt !== f.row.reopened_at;
  const endsCycle = reopened
    ? { startedAt: f.row.reopened_at ?? f.row.created_at, endedAt: f.row.closed_at ?? at }
    : undefined;
  return planDeadlineSync(
    {
      state: plan.final,
      createdAt: f.row.created_at,
      deadlines,
      pauses,
      ...(endsCycle === undefined ? {} : { endsCycle }),
    },
    ctx.config,
    ctx.calendar,
    at,
  );
}

/**
 * The case's latest `duplicate-of` link once the plan's links are written (INSERT OR IGNORE), as
 * the store's `ORDER BY created_at DESC` over its `(case_id, other_id, kind)` key returns it:
 * links made at the same instant come in `other_id` order.
 */
function duplicateOf(f: StaffCaseFacts, plan: CommandPlan, at: string): string | null {
  const links = new Map(f.duplicateLinks.map((l) => [l.otherId, l.createdAt]));
  for (const l of plan.links)
    if (l.kind === 'duplicate-of' && !links.has(l.otherId)) links.set(l.otherId, at);
  let latest: { otherId: string; createdAt: string } | null = null;
  for (const [otherId, createdAt] of [...links].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (latest === null || createdAt > latest.createdAt) latest = { otherId, createdAt };
  }
  return latest?.otherId ?? null;
}

/** What the confirmation and status mails show of a case: metadata only, never report content. */
export function snapshotOf(s: CaseState, fixDue: string | null, duplicateLink: string | null): CaseSnapshot {
  return {
    stage: s.stage,
    resolution: s.resolution,
    severity: s.severity,
    cvssScore: s.cvssScore,
    cvssVector: s.cvssVector,
    assignee: s.assignee,
    onHold: s.onHold,
    waitingOnReporter: s.waitingOnReporter,
    tags: s.tags,
    cve: s.cve,
    fixDue,
    discloseOn: s.discloseOn,
    advisoryUrl: s.advisoryUrl,
    credit: s.credit,
    duplicateOf: s.resolution === 'duplicate' ? duplicateLink : null,
  };
}

/** The legal hold a confirmation shows (issue #13), or null when the case is not on hold. */
export function holdOf(
  s: CaseState,
): { reason: string | null; since: string | null; by: string | null } | null {
  return s.onHold ? { reason: s.holdReason, since: s.heldAt, by: s.heldBy } : null;
}

/** The mails of an applied staff mail: confirmation, assignment notice, reporter mails. */
function staffMails(
  m: StaffMail,
  caseId: string,
  f: StaffCaseFacts,
  plan: CommandPlan,
  snap: CaseSnapshot,
  authLabel: string,
  ctx: StaffContext,
): void {
  const { change, mail, input } = m;
  const messageRowId = mail.messageRowId;
  // The confirmation threads under the command mail; its subject drops the commands, so that
  // replying to it does not send them again.
  change.outbox.push({
    caseId,
    kind: 'command-confirmation',
    dedupeKey: `confirm:${messageRowId}`,
    recipients: [m.address],
    ...m.thread,
    subject: replySubject(caseId, f.row.subject, ctx.caseIdPattern),
    payload: {
      template: 'command-confirmation',
      messageRowId,
      autoSubmitted: 'auto-replied',
      flags: [],
      outcomes: plan.outcomes,
      help: plan.help,
      snapshot: snap,
      authLabel,
      hold: holdOf(plan.final),
    },
  });
  if (plan.assigned !== null) {
    change.outbox.push({
      caseId,
      kind: 'assignment',
      dedupeKey: `assign:${messageRowId}:${plan.assigned}`,
      recipients: [plan.assigned],
      inReplyTo: null,
      references: [],
      subject: sanitizeSubject(`[${caseId}] Assigned to you by ${input.member.name}`),
      payload: {
        template: 'assignment',
        messageRowId,
        autoSubmitted: 'auto-generated',
        flags: [],
        by: input.member.name,
        snapshot: snap,
      },
    });
  }
  if (plan.final.reporterAddress !== '') reporterMails(m, caseId, f, plan, snap, ctx);
}

/**
 * The advisory draft (issue #14), on the reporter's thread: the payload names the frozen draft
 * version (advisoryWrites), never its text; the mailer opens it and encrypts to the reporter's
 * pinned key when there is one (the plan refused /draft when the mail would go in clear to a
 * reporter who did not write in clear).
 */
function draftMail(
  m: StaffMail,
  caseId: string,
  f: StaffCaseFacts,
  plan: CommandPlan,
  who: Actor,
  ctx: StaffContext,
): void {
  const number = f.drafts + 1;
  m.change.outbox.push({
    caseId,
    kind: 'advisory-draft',
    dedupeKey: `draft:${caseId}:${number}`,
    recipients: [plan.final.reporterAddress],
    inReplyTo: null,
    references: [],
    reporterThread: f.reporterThread,
    subject: replySubject(caseId, f.row.subject, ctx.caseIdPattern),
    payload: {
      template: 'advisory-draft',
      messageRowId: m.mail.messageRowId,
      // Staff decided to send it and a person is asked to answer (RFC 3834 §5).
      autoSubmitted: 'no',
      flags: [],
      draft: number,
      staffName: m.input.member.name,
      encrypted: f.draftChannel === 'encrypted',
    },
  });
  addEvent(m.change, m.mail, caseId, 'advisory.draft-sent', { draft: number, channel: f.draftChannel }, who);
}

/** Status mails, the held acknowledgment and the `/reply` relay, on the reporter's thread. */
function reporterMails(
  m: StaffMail,
  caseId: string,
  f: StaffCaseFacts,
  plan: CommandPlan,
  snap: CaseSnapshot,
  ctx: StaffContext,
): void {
  const { change, mail, input } = m;
  const messageRowId = mail.messageRowId;
  const reporter = plan.final.reporterAddress;
  const onThread = {
    caseId,
    recipients: [reporter],
    inReplyTo: null,
    references: [],
    reporterThread: f.reporterThread,
    subject: replySubject(caseId, f.row.subject, ctx.caseIdPattern),
  };
  // A changed disclosure date says which date it replaces (the row is the case before the mail).
  const previous = f.row.disclose_on;
  const moved = previous !== null && previous !== snap.discloseOn ? { previousDiscloseOn: previous } : {};
  for (const event of plan.statusMails) {
    change.outbox.push({
      ...onThread,
      kind: 'reporter-status',
      dedupeKey: `status:${messageRowId}:${event}`,
      payload: {
        messageRowId,
        flags: [],
        snapshot: snap,
        template: 'reporter-status',
        autoSubmitted: 'auto-generated',
        statusEvent: event satisfies StatusEvent,
        ...(event === 'disclosure-scheduled' ? moved : {}),
      },
    });
  }
  if (plan.ack) {
    // The held acknowledgment itself: the same template, on the reporter's thread (issue #10).
    change.outbox.push({
      ...onThread,
      kind: 'acknowledgment',
      dedupeKey: `ack-command:${caseId}`,
      payload: {
        template: 'acknowledgment',
        messageRowId: f.reportRowId ?? messageRowId,
        autoSubmitted: 'auto-replied',
        // The report's flags: unreadable mail gets only "it arrived", as automatically.
        flags: f.flags,
      },
    });
  }
  if (plan.reply) {
    change.outbox.push({
      ...onThread,
      kind: 'reporter-reply',
      dedupeKey: `reply:${messageRowId}`,
      payload: {
        messageRowId,
        flags: [],
        snapshot: snap,
        template: 'reporter-reply',
        // A person wrote it: not an automatic reply (RFC 3834 §5).
        autoSubmitted: 'no',
        staffName: input.member.name,
      },
    });
  }
}
