import type { CaseFlag } from '../../core/flags.js';
import type { Calendar } from '../../calendar/calendar.js';
import type { Classification } from '../../4-classify/classify.js';
import type { Config } from '../../config/schema.js';
import type { CaseIdFormat } from '../../core/case-id.js';
import type { FoundKey, SignatureVerdict } from '../../2-decode/types.js';
import { policyOf } from '../../policy/deadlines.js';
import type { AckHeld } from './first-contact.js';
import { PROTECTED_SUBJECT, replySubject, sanitizeSubject } from '../subject.js';
import { openedState, toState, type CaseRow } from './case-row.js';
import { addEvent, fileTo, startChange, type CaseChange, type MailFacts, type NewCaseRow } from './change.js';
import { planDeadlineSync, type DeadlineRow, type PauseEvent } from './deadlines.js';
import { decideAcknowledgment, knownBy, REPLIED_TO_US, type CorrespondentFacts } from './first-contact.js';
import { planKeyPins, type StoredKey } from './keys.js';
import { decideCreditLine, type CreditFacts, type CreditMark } from './credit-preference.js';

/** What the rules of a classified mail are given besides the facts read. */
export interface RuleContext {
  config: Config;
  calendar: Calendar;
  caseIdFormat: CaseIdFormat;
}

type Of<K extends Classification['kind']> = Extract<Classification, { kind: K }>;

/** A mail already filed (same Message-ID): recorded, nothing else. */
export function decideDuplicate(mail: MailFacts, c: Of<'duplicate'>): CaseChange {
  const change = startChange(mail);
  addEvent(change, mail, c.caseId, 'message.duplicate', { of: c.of });
  return fileTo(change, c.caseId);
}

/** Automated mail is never answered (RFC 3834); a delivery report is noted on the row it is about. */
export function decideAutomated(
  mail: MailFacts,
  c: Of<'automated'>,
  delivery: { action: string | null; status: string | null } | null,
): CaseChange {
  const change = startChange(mail);
  if (c.bounce) {
    change.bounce = {
      outboxId: c.bounce.outboxId,
      error: `delivery report: ${delivery?.action ?? 'unknown'} ${delivery?.status ?? ''}`.trim(),
    };
    addEvent(change, mail, c.caseId, 'outbox.bounced', {
      outboxId: c.bounce.outboxId,
      action: delivery?.action ?? null,
      status: delivery?.status ?? null,
    });
  } else {
    addEvent(change, mail, c.caseId, 'message.automated', { reason: c.reason });
  }
  return fileTo(change, c.caseId);
}

/** A staff mail that was not authenticated before the transaction: only recorded. */
export function decideStaffRecorded(mail: MailFacts, c: Of<'staff'>): CaseChange {
  const change = startChange(mail);
  addEvent(change, mail, c.caseId, c.caseId === null ? 'staff.mail-unthreaded' : 'staff.mail-recorded', {
    matchedBy: c.matchedBy,
  });
  return fileTo(change, c.caseId);
}

/**
 * The groups of staff that get the same notification mail, in config order: every member with a
 * key (`key_file`, pinned by `fingerprint`) gets the one mail encrypted to all their keys; every
 * member without one gets the withheld mail (or, with notifications.allow_cleartext, the clear
 * one). One outbox row — one SMTP transaction with one RCPT TO each — per group (issue #16;
 * docs/decisions/0012-performance.md says when one mail to several recipients is equivalent).
 */
export function staffNotificationGroups(
  staff: Config['staff'],
): { group: StaffGroup; addresses: string[] }[] {
  const keyed = staff.filter((s) => s.key_file !== undefined && s.fingerprint !== undefined);
  const keyless = staff.filter((s) => !keyed.includes(s));
  return [
    ...(keyed.length > 0 ? [{ group: 'keyed' as const, addresses: keyed.map((s) => s.address) }] : []),
    ...(keyless.length > 0 ? [{ group: 'keyless' as const, addresses: keyless.map((s) => s.address) }] : []),
  ];
}

/** Which notification mail a group of staff gets: the encrypted one, or the one without a key. */
export type StaffGroup = 'keyed' | 'keyless';

/** The new or follow-up mail's staff notifications, one per group of staff, then the event. */
function notifyStaff(
  change: CaseChange,
  mail: MailFacts,
  ctx: RuleContext,
  caseId: string,
  event: 'new-report' | 'follow-up',
  opts: { about?: string; ackHeld?: AckHeld | undefined; credit?: CreditMark } = {},
): void {
  const { config } = ctx;
  const flags = mail.flags;
  const about = opts.about ?? mail.subject;
  const ackHeld = opts.ackHeld;
  const groups = staffNotificationGroups(config.staff);
  // Threaded per case and group: a staff reply's In-Reply-To points at this row's Message-ID.
  // The dedupe key names the group (never an address: `keyed`/`keyless` contain no '@', so they
  // cannot meet the per-member keys `notify:<row>:<address>` older versions wrote).
  for (const g of groups) {
    change.outbox.push({
      caseId,
      kind: 'staff-notification',
      dedupeKey: `notify:${mail.messageRowId}:${g.group}`,
      recipients: g.addresses,
      inReplyTo: null,
      references: [],
      subject: sanitizeSubject(
        `[${caseId}] ${event === 'new-report' ? 'New report' : 'Follow-up'}: ${about}`,
      ),
      payload: {
        template: 'staff-notification',
        messageRowId: mail.messageRowId,
        autoSubmitted: 'auto-generated',
        event,
        flags,
        ...(ackHeld ? { ackHeld } : {}),
        ...(opts.credit === undefined || Object.keys(opts.credit).length === 0
          ? {}
          : { credit: opts.credit }),
      },
    });
  }
  // `staff` counts people told, `mails` the rows (SMTP transactions) that tell them.
  addEvent(change, mail, caseId, 'staff.notified', {
    event,
    staff: config.staff.length,
    mails: groups.length,
  });
}

/** Pins the sender's keys on the case: the change's key writes, their events, the flag. */
function pinKeys(
  change: CaseChange,
  mail: MailFacts,
  caseId: string,
  keys: readonly FoundKey[],
  stored: readonly StoredKey[],
): ReturnType<typeof planKeyPins> {
  const pins = planKeyPins(mail.sender, keys, stored);
  change.keys = { address: mail.sender, pins };
  for (const e of pins.events) {
    change.events.push({
      caseId,
      type: e.type,
      actor: `reporter:${mail.sender}`,
      auth: null,
      messageId: mail.messageId,
      data: e.data,
    });
  }
  return pins;
}

const withKeyChanged = (flags: readonly CaseFlag[]): CaseFlag[] =>
  flags.includes('key-changed') ? [...flags] : [...flags, 'key-changed'];

/** What a follow-up's rules read. */
export interface FollowUpFacts {
  caseRow: CaseRow;
  caseFlags: CaseFlag[];
  storedKeys: StoredKey[];
  /** Our outbox row this mail answers, when it proves the sender's mailbox for the first time. */
  answeredOutbox: number | null;
  deadlines: DeadlineRow[];
  pauses: PauseEvent[];
  /** What a `Credit:` line in it needs (issue #14); absent: none is looked for. */
  credit?: CreditFacts;
}

/**
 * A follow-up on a case: recorded, the paused clock runs again if the case waited on the
 * reporter, keys are pinned, a reply to our mail is noted (first contact), staff are told.
 */
export function decideFollowUp(
  mail: MailFacts,
  c: Of<'follow-up'>,
  keys: readonly FoundKey[],
  f: FollowUpFacts,
  ctx: RuleContext,
): CaseChange {
  const change = startChange(mail);
  const caseId = c.caseId;
  addEvent(change, mail, caseId, 'case.follow-up', { matchedBy: c.matchedBy, flags: mail.flags });
  const writes: NonNullable<CaseChange['caseWrites']> = { id: caseId, touch: true };
  change.caseWrites = writes;
  // The reporter answered: the paused clock runs again (/pause).
  if (f.caseRow.waiting_on_reporter === 1) {
    writes.clearWaiting = true;
    addEvent(change, mail, caseId, 'case.waiting-on-reporter', { waiting: false });
    const state = { ...toState(f.caseRow), waitingOnReporter: false };
    const pauses = [...f.pauses, { at: mail.at, type: 'case.waiting-on-reporter', data: { waiting: false } }];
    change.deadlines = planDeadlineSync(
      { state, createdAt: f.caseRow.created_at, deadlines: f.deadlines, pauses },
      ctx.config,
      ctx.calendar,
      mail.at,
    );
  }
  if (pinKeys(change, mail, caseId, keys, f.storedKeys).keyChanged)
    writes.flags = withKeyChanged(f.caseFlags);
  // A reply naming one of our Message-IDs proves the sender reads this mailbox (issue #10).
  if (f.answeredOutbox !== null)
    addEvent(change, mail, caseId, REPLIED_TO_US, { outboxId: f.answeredOutbox });
  // Issue #14: the reporter's `Credit:` line, recorded when it is theirs; staff see it marked.
  const credit = f.credit === undefined ? {} : decideCreditLine(change, mail, caseId, f.credit);
  // A follow-up in clear on a protected case must not put its subject in clear either.
  notifyStaff(change, mail, ctx, caseId, 'follow-up', {
    about: f.caseRow.subject === PROTECTED_SUBJECT ? PROTECTED_SUBJECT : mail.subject,
    credit,
  });
  return fileTo(change, caseId);
}

/** What a new report's rules read. */
export interface NewReportFacts {
  year: number;
  /** The next sequence number of `year`. */
  seq: number;
  storedKeys: StoredKey[];
  correspondent: CorrespondentFacts;
  /** Acknowledgments to the sender's mailbox in the last hour. */
  acksLastHour: number;
  signature: SignatureVerdict | null;
}

/**
 * A new report: the case opens with its acknowledge deadline, keys are pinned, the reporter is
 * acknowledged unless the flood guard holds it (then the deadline is cancelled: it must not page
 * on-call), staff are told.
 */
export function decideNewReport(
  mail: MailFacts,
  c: Of<'new-report'>,
  keys: readonly FoundKey[],
  f: NewReportFacts,
  ctx: RuleContext,
): CaseChange {
  const { config, calendar } = ctx;
  const change = startChange(mail);
  const caseId = ctx.caseIdFormat.format(f.year, f.seq);
  const opened: NewCaseRow = {
    id: caseId,
    year: f.year,
    seq: f.seq,
    reporterAddress: mail.sender,
    reporterName: mail.senderName,
    subject: sanitizeSubject(mail.subject),
    sealedSubject: mail.sealedSubject,
    flags: [...mail.flags],
  };
  change.newCase = opened;
  const due = calendar.add(mail.now, config.deadlines.acknowledge).toISOString();
  addEvent(change, mail, caseId, 'case.opened', {
    flags: mail.flags,
    linkedTo: c.linkedTo,
    ...(c.purged === undefined ? {} : { purgedCase: c.purged }),
  });
  if (c.linkedTo !== null) change.links.push({ caseId, otherId: c.linkedTo, kind: 'quoted-tag' });
  // #13: mail on a purged case's thread is a new report; the tombstone is only named, never fed.
  if (c.purged !== undefined) change.links.push({ caseId, otherId: c.purged, kind: 'related' });
  const pins = pinKeys(change, mail, caseId, keys, f.storedKeys);
  if (pins.keyChanged) opened.flags = withKeyChanged(opened.flags);
  // Issue #10: a sender who has not proved a key or their mailbox gets the stricter limit.
  const known = mail.sender === '' ? null : knownBy(f.signature, pins.pinned, f.correspondent);
  const ack = decideAcknowledgment(mail.sender, known, f.acksLastHour, config.acknowledgment);
  let ackHeld: AckHeld | undefined;
  if (ack.kind === 'skip') {
    addEvent(change, mail, caseId, 'acknowledgment.skipped', { reason: ack.reason });
  } else if (ack.kind === 'hold') {
    ackHeld = ack.held;
    addEvent(change, mail, caseId, 'acknowledgment.held', { ...ackHeld, knownBy: known });
    // Deliberately not answered (flood guard): its deadline must not page on-call. Staff
    // see it held in the notification and `psirt cases show`, and `/ack` sends it.
  } else {
    change.outbox.push({
      caseId,
      kind: 'acknowledgment',
      dedupeKey: `ack:${mail.messageRowId}`,
      recipients: [mail.sender],
      inReplyTo: mail.messageId,
      references: [...mail.references, ...(mail.messageId === null ? [] : [mail.messageId])],
      subject: replySubject(caseId, mail.subject, ctx.caseIdFormat.pattern),
      payload: {
        template: 'acknowledgment',
        messageRowId: mail.messageRowId,
        autoSubmitted: 'auto-replied',
        flags: mail.flags,
      },
    });
    addEvent(change, mail, caseId, 'acknowledgment.queued', { knownBy: known });
  }
  const ackState = ack.kind === 'send' ? 'open' : 'cancelled';
  change.acknowledge = {
    effect: 'insert',
    caseId,
    dueAt: due,
    state: ackState,
    calendarId: calendar.id,
    policy: policyOf(config),
  };
  change.deadlines = planDeadlineSync(
    {
      state: openedState(caseId, mail.sender),
      createdAt: mail.at,
      deadlines: [{ kind: 'acknowledge', due_at: due, state: ackState }],
      pauses: [],
    },
    config,
    calendar,
    mail.at,
  );
  notifyStaff(change, mail, ctx, caseId, 'new-report', { ackHeld });
  return fileTo(change, caseId);
}
