import type { Calendar } from '../src/calendar/calendar.js';
import { pinnedKey } from '../src/cases/case-store.js';
import { describeAckHeld } from '../src/cases/first-contact.js';
import type { Db } from '../src/cases/db.js';
import { readStoredRaw } from '../src/cases/intake-store.js';
import {
  caseForMail,
  claimOutbox,
  reportMessageRow,
  firstNotification,
  loadOutbox,
  type CaseSummaryForMail,
  markFailed,
  markRetry,
  markSent,
  type OutboxRow,
} from '../src/cases/outbox-store.js';
import type { Config } from '../src/config/schema.js';
import { mailDomain, securityStaff } from '../src/cases/addresses.js';
import { neutralSubject, PROTECTED_SUBJECT, withRealSubject } from '../src/cases/subject.js';
import { parseCaseIdFormat } from '../src/core/case-id.js';
import type { Clock } from '../src/core/clock.js';
import { describeError, PsirtError } from '../src/core/errors.js';
import type { Logger } from '../src/core/log.js';
import { decodeMessage } from '../src/unwrap/unwrap.js';
import { composeMail, type OutgoingMail, type Protection, type Sealer } from '../src/outbox/compose.js';
import { reportView, UNDECODED_VIEW, type ReportCache, type ReportView } from '../src/outbox/report-view.js';
import { formatDate, formatFingerprint, formatSpan } from '../src/outbox/render.js';
import type { SmtpTransport } from '../src/outbox/smtp-transport.js';
import type { Templates } from '../src/outbox/templates.js';
import type { TeamKey } from '../src/pgp/keyring.js';
import { helpText } from '../src/commands/plan.js';
import { ownText } from '../src/commands/reply-text.js';
import { expertsFor, RESOLVED_BY, type OutsideExpertiseNeed } from '../src/policy/escalation.js';
import { staffByAddress } from '../src/core/staff.js';

export interface DeliverDeps {
  config: Config;
  db: Db;
  clock: Clock;
  log: Logger;
  templates: Templates;
  sealer: Sealer;
  transport: SmtpTransport;
  teamKeys: readonly TeamKey[];
  staffKeys: ReadonlyMap<string, string>;
  calendar: Calendar;
  /** Decoded reports by message row: one decode serves every staff member's notification. */
  reports: ReportCache;
}

/** A claim older than this belongs to a crashed worker; the row is sent again (decision 0002). */
export const staleClaimMs = (config: Config): number => config.mailer.stale_claim_seconds * 1000;

/** Thrown for a failure a retry can fix (4xx, network): BullMQ retries the job with backoff. */
export class TransientSendError extends PsirtError {
  constructor(message: string, cause: unknown) {
    super('smtp_transient', message, { cause, retryable: true });
  }
}

const UNREADABLE = new Set(['undecryptable', 'corrupt', 'oversize', 'processing-failed']);
/** Flags of mail the mailer must not decode again (it failed to parse, or crashed the intake). */
const NOT_DECODED = new Set(['corrupt', 'processing-failed']);

async function buildMail(
  deps: DeliverDeps,
  row: OutboxRow,
): Promise<{ mail: OutgoingMail; protection: Protection; envelopeFrom: string }> {
  const { config, db } = deps;
  const tz = config.calendar.time_zone;
  const c = row.case_id === null ? null : caseForMail(db, row.case_id);
  const team = deps.teamKeys[0];
  if (team === undefined) throw new PsirtError('no_team_key', 'no team key is loaded');
  const base: Omit<OutgoingMail, 'text'> = {
    from: { name: config.smtp.from_name, address: config.smtp.from_address },
    to: row.recipients,
    // Settled by protectSubject once the protection is known.
    subject: row.subject,
    outerSubject: row.subject,
    messageId: row.message_id,
    inReplyTo: row.in_reply_to,
    references: row.refs,
    headers:
      row.payload.autoSubmitted === 'no'
        ? {}
        : { 'Auto-Submitted': row.payload.autoSubmitted, 'X-Auto-Response-Suppress': 'All' },
    date: deps.clock.now(),
  };
  const recipient = row.recipients[0] ?? '';
  // Only a staff mail may have no case (a command mail that named none).
  if (c === null) {
    if (row.payload.template === 'command-confirmation' || row.payload.template === 'command-rejected')
      return staffMail(deps, row, null, base);
    throw new PsirtError('outbox_orphan', `outbox row ${row.id} has no case`);
  }
  const flags = row.payload.flags;
  const unreadable = flags.some((f) => UNREADABLE.has(f));
  const received = formatDate(c.created_at, tz);
  const triageBy = c.deadlines.triage === undefined ? 'soon' : formatDate(c.deadlines.triage, tz);

  switch (row.payload.template) {
    case 'acknowledgment': {
      const key = pinnedKey(db, recipient);
      const data = {
        caseId: c.id,
        reporterName: c.reporter_name ?? '',
        organisation: config.organisation.name,
        securityAddress: config.organisation.security_address,
        receivedAt: received,
        triageBy,
        verifyBy: formatDate(
          deps.calendar.add(new Date(c.created_at), config.deadlines.verify).toISOString(),
          tz,
        ),
        fixCritical: formatSpan({ amount: config.deadlines.fix.critical, unit: config.deadlines.fix.unit }),
        fixHigh: formatSpan({ amount: config.deadlines.fix.high, unit: config.deadlines.fix.unit }),
        fixMedium: formatSpan({ amount: config.deadlines.fix.medium, unit: config.deadlines.fix.unit }),
        fixLow: formatSpan({ amount: config.deadlines.fix.low, unit: config.deadlines.fix.unit }),
        disclose: formatSpan(config.deadlines.disclose),
        encrypted: key !== null,
        teamFingerprint: formatFingerprint(team.fingerprint),
      };
      // Unreadable mail gets only "it arrived" (never the error, never the ciphertext).
      const text = deps.templates.render(unreadable ? 'acknowledgment-unreadable' : 'acknowledgment', data);
      return {
        mail: { ...base, text },
        protection: reporterProtection(key),
        envelopeFrom: config.smtp.envelope_from,
      };
    }
    case 'staff-notification': {
      const followUp = row.payload.event === 'follow-up';
      const first = firstNotification(db, c.id, recipient, row.id);
      const threading = first === null ? {} : { inReplyTo: first, references: [first] };
      const withContent = deps.staffKeys.has(recipient) || config.notifications.allow_cleartext;
      const common = {
        caseId: c.id,
        followUp,
        sender: c.reporter_address,
        receivedAt: received,
        flags: flags.join(', '),
        triageBy,
        ackHeld: describeAckHeld(row.payload.ackHeld),
      };
      if (!withContent) {
        return {
          mail: {
            ...base,
            ...threading,
            replyTo: config.organisation.security_address,
            text: deps.templates.render('staff-notification-withheld', common),
          },
          protection: { kind: 'signed' },
          envelopeFrom: config.organisation.security_address,
        };
      }
      const view = await deps.reports.get(row.payload.messageRowId, () =>
        viewReport(
          deps,
          row.payload.messageRowId,
          c.reporter_address,
          flags.some((f) => NOT_DECODED.has(f)),
        ),
      );
      const protection = staffProtection(deps, row.recipients);
      const text = deps.templates.render('staff-notification', {
        ...common,
        // The real subject only inside encryption (allow_cleartext sends this in clear).
        subject: protection.kind === 'encrypted' ? (view.subject ?? c.subject) : c.subject,
        encryption: view.encryption,
        signature: view.signature,
        keyChanged: c.flags.includes('key-changed'),
        quarantined: unreadable,
        attachments: view.attachments,
        problems: view.problems,
        report: view.report,
      });
      return {
        mail: { ...base, ...threading, replyTo: config.organisation.security_address, text },
        protection,
        envelopeFrom: config.organisation.security_address,
      };
    }
    case 'command-confirmation':
    case 'command-rejected':
    case 'assignment':
      return staffMail(deps, row, c, base);
    case 'escalation':
    case 'outside-expertise':
      return escalationMail(deps, row, c, base);
    case 'reporter-status':
    case 'reporter-reply': {
      const key = pinnedKey(db, recipient);
      const snap = row.payload.snapshot ?? null;
      const data = {
        caseId: c.id,
        reporterName: c.reporter_name ?? '',
        organisation: config.organisation.name,
        securityAddress: config.organisation.security_address,
        encrypted: key !== null,
        severity: snap?.severity ?? '',
        cvssScore: snap?.cvssScore?.toFixed(1) ?? '',
        cvssVector: snap?.cvssVector ?? '',
        fixDue: snap?.fixDue ? formatDate(snap.fixDue, tz) : '',
        discloseOn: snap?.discloseOn ?? '',
        advisoryUrl: snap?.advisoryUrl ?? '',
        cve: snap?.cve ?? '',
        credit: snap?.credit ?? c.reporter_name ?? '',
        duplicateOf: snap?.duplicateOf ?? '',
        // A promise already past is not repeated: the template then says "as soon as we can".
        verifyBy:
          c.deadlines.verify !== undefined && Date.parse(c.deadlines.verify) > deps.clock.now().getTime()
            ? formatDate(c.deadlines.verify, tz)
            : '',
      };
      const text =
        row.payload.template === 'reporter-reply'
          ? deps.templates.render('reporter-reply', {
              ...data,
              staffName: row.payload.staffName ?? '',
              text: await staffText(deps, row.payload.messageRowId),
            })
          : deps.templates.render(`status-${row.payload.statusEvent ?? 'triaged'}`, data);
      return {
        mail: { ...base, text },
        protection: reporterProtection(key),
        // Bounces come back to security@ and are linked to this row (a status mail must not vanish).
        envelopeFrom: config.organisation.security_address,
      };
    }
    case 'delivery-failed': {
      const failedId = Number(row.payload.failedOutboxId);
      const failed = loadOutbox(db, failedId);
      const text = deps.templates.render('delivery-failed', {
        caseId: c.id,
        kind: failed?.kind ?? 'unknown',
        recipients: failed?.recipients.join(', ') ?? '',
        messageId: failed?.message_id ?? '',
        error: failed?.last_error ?? '',
      });
      return {
        mail: { ...base, text },
        // An alert to several people is signed only (as before); to one, encrypted when keyed.
        protection: row.recipients.length === 1 ? staffProtection(deps, row.recipients) : { kind: 'signed' },
        envelopeFrom: config.smtp.envelope_from,
      };
    }
  }
}

/**
 * RFC 9788 header protection of one mail: encrypted mail shows outside only the case tag
 * (`Re: [SEC-2026-0001] ...`) and carries the real subject inside — for a protected report the
 * one decrypted again from the stored report, since only PROTECTED_SUBJECT is stored in clear.
 * Signed mail keeps the row's subject, which for a protected report is already neutral.
 */
async function protectSubject(
  deps: DeliverDeps,
  row: OutboxRow,
  built: { mail: OutgoingMail; protection: Protection; envelopeFrom: string },
): Promise<{ mail: OutgoingMail; protection: Protection; envelopeFrom: string }> {
  if (built.protection.kind !== 'encrypted')
    return { ...built, mail: { ...built.mail, subject: row.subject, outerSubject: row.subject } };
  const c = row.case_id === null ? null : caseForMail(deps.db, row.case_id);
  let subject = row.subject;
  if (c !== null && c.subject === PROTECTED_SUBJECT) {
    const reportRow = reportMessageRow(deps.db, c.id);
    const view =
      reportRow === null
        ? null
        : await deps.reports.get(reportRow, () =>
            viewReport(
              deps,
              reportRow,
              c.reporter_address,
              c.flags.some((f) => NOT_DECODED.has(f)),
            ),
          );
    if (view?.subject != null)
      subject = withRealSubject(
        row.subject,
        view.subject,
        parseCaseIdFormat(deps.config.cases.id_format).pattern,
      );
  }
  return {
    ...built,
    mail: { ...built.mail, subject, outerSubject: neutralSubject(row.subject, row.case_id) },
  };
}

/** Mail to a staff member about their command mail: confirmation, rejection, assignment. */
function staffMail(
  deps: DeliverDeps,
  row: OutboxRow,
  c: CaseSummaryForMail | null,
  base: Omit<OutgoingMail, 'text'>,
): { mail: OutgoingMail; protection: Protection; envelopeFrom: string } {
  const { config, db } = deps;
  const tz = config.calendar.time_zone;
  const recipient = row.recipients[0] ?? '';
  const member = staffByAddress(config.staff, recipient);
  const snap = row.payload.snapshot ?? null;
  const common = {
    caseId: c?.id ?? '',
    staffName: member?.name ?? recipient,
    staffAddress: recipient,
    snapshot: snap,
    fixDue: snap?.fixDue ? formatDate(snap.fixDue, tz) : '',
    tags: snap?.tags.join(', ') ?? '',
  };
  const text =
    row.payload.template === 'command-confirmation'
      ? deps.templates.render('command-confirmation', {
          ...common,
          authLabel: row.payload.authLabel ?? '',
          outcomes: row.payload.outcomes ?? [],
          help: row.payload.help === true,
          helpText: member ? helpText(config.raci, member) : '',
          reply: row.kind === 'command-confirmation' && hasReply(db, row),
        })
      : row.payload.template === 'command-rejected'
        ? deps.templates.render('command-rejected', {
            ...common,
            reason: row.payload.reason ?? '',
            replay: row.payload.replay === true,
            tampered: row.payload.tampered === true,
            commands: (row.payload.commands ?? []).join(' '),
            claimedMessageId: row.payload.claimedMessageId ?? '(none)',
            dkim: config.commands.dkim_verify || config.commands.trusted_authserv_ids.length > 0,
            maxAgeHours: config.commands.max_signature_age_hours,
          })
        : deps.templates.render('assignment', { ...common, by: row.payload.by ?? '' });
  return {
    mail: { ...base, replyTo: config.organisation.security_address, text },
    protection: staffProtection(deps, row.recipients),
    envelopeFrom: config.organisation.security_address,
  };
}

/**
 * An escalation: case id, stage, deadline, how late, owner, the command that resolves it — never
 * report content (invariant 6). Encrypted to a recipient who has a staff key.
 */
function escalationMail(
  deps: DeliverDeps,
  row: OutboxRow,
  c: CaseSummaryForMail,
  base: Omit<OutgoingMail, 'text'>,
): { mail: OutgoingMail; protection: Protection; envelopeFrom: string } {
  const { config } = deps;
  const tz = config.calendar.time_zone;
  const p = row.payload;
  const kind = p.deadline ?? 'triage';
  const due = p.dueAt ?? row.created_at;
  const left = deps.calendar.businessDaysBetween(deps.clock.now(), new Date(due));
  const staffName = (address: string | null): string =>
    address === null
      ? 'nobody (the security staff are told)'
      : (staffByAddress(config.staff, address)?.name ?? address) + ` <${address}>`;
  const given = p.need as Partial<OutsideExpertiseNeed> | undefined;
  const need: OutsideExpertiseNeed = { tags: given?.tags ?? [], fixDays: given?.fixDays ?? null };
  const data = {
    caseId: c.id,
    stage: c.stage,
    severity: c.severity ?? 'not set',
    deadline: kind,
    due: formatDate(due, tz),
    late: left < 0,
    howLate: formatBusinessDays(Math.abs(left), Math.abs(Date.parse(due) - deps.clock.now().getTime())),
    owner: staffName(c.assignee),
    step: (p.step ?? 0) + 1,
    steps: config.escalation.ladder.length,
    recipientRole: p.recipientRole ?? 'oncall',
    resolvedBy: RESOLVED_BY[kind] ?? '',
    tags: need.tags.join(', '),
    fixDays: need.fixDays ?? '',
    maxFixDays: config.escalation.outside_expertise.max_fix_days,
    experts: expertsFor(need, config.escalation.outside_expertise.experts),
    resolvedByExternal: RESOLVED_BY['outside-expertise'] ?? '',
  };
  const text = deps.templates.render(
    p.template === 'outside-expertise' ? 'outside-expertise' : 'escalation',
    data,
  );
  return {
    mail: { ...base, text },
    protection: staffProtection(deps, row.recipients),
    envelopeFrom: config.organisation.security_address,
  };
}

/** "2.5 business days" — or, under a day, the wall-clock time ("40 seconds", "3 hours"). */
function formatBusinessDays(days: number, ms: number): string {
  if (days >= 1) return `${days.toFixed(1)} business days`;
  const s = Math.round(ms / 1000);
  if (s < 2) return 'a moment';
  if (s < 120) return `${s} seconds`;
  if (s < 7200) return `${Math.round(s / 60)} minutes`;
  return `${Math.round(s / 3600)} hours`;
}

/** Whether the command mail of a confirmation also queued a `/reply` to the reporter. */
function hasReply(db: Db, row: OutboxRow): boolean {
  return (
    db.prepare('SELECT 1 FROM outbox WHERE dedupe_key = ?').get(`reply:${row.payload.messageRowId}`) !==
    undefined
  );
}

/**
 * The staff member's own text of a stored command mail, decoded again (a `/reply` is kept only as
 * the stored mail, possibly encrypted to the team key: no plaintext at rest).
 */
async function staffText(deps: DeliverDeps, rowId: number): Promise<string> {
  const raw = await readStoredRaw(deps.db, rowId, deps.config.imap.max_message_bytes);
  if (raw === null) throw new PsirtError('reply_missing', `stored message ${rowId} is not readable`);
  const decoded = await decodeMessage(raw, {
    teamKeys: deps.teamKeys,
    senderKeys: [],
    maxDecompressedBytes: deps.config.pgp.max_decompressed_bytes,
    now: deps.clock.now(),
  });
  const text = ownText(decoded.text);
  if (text === '') throw new PsirtError('reply_empty', `stored message ${rowId} has no text to relay`);
  return text;
}

/** Encrypted to the staff keys when every recipient has one (staff[].key_file), else signed. */
function staffProtection(deps: DeliverDeps, recipients: readonly string[]): Protection {
  const keys = recipients.map((r) => deps.staffKeys.get(r));
  return keys.length > 0 && keys.every((k): k is string => k !== undefined)
    ? { kind: 'encrypted', recipientKeys: keys }
    : { kind: 'signed' };
}

/** Encrypted to the reporter's pinned key when we have one, else signed (invariant 6). */
function reporterProtection(key: { armored: string } | null): Protection {
  return key === null ? { kind: 'signed' } : { kind: 'encrypted', recipientKeys: [key.armored] };
}

/** Decodes a stored report for staff (decrypting it again: no plaintext is kept at rest). */
async function viewReport(
  deps: DeliverDeps,
  rowId: number,
  reporter: string,
  corrupt: boolean,
): Promise<ReportView> {
  const raw = await readStoredRaw(deps.db, rowId, deps.config.imap.max_message_bytes);
  if (raw === null || corrupt) return UNDECODED_VIEW;
  const pinned = pinnedKey(deps.db, reporter);
  return reportView(
    await decodeMessage(raw, {
      teamKeys: deps.teamKeys,
      senderKeys: pinned === null ? [] : [pinned.armored],
      maxDecompressedBytes: deps.config.pgp.max_decompressed_bytes,
      now: deps.clock.now(),
    }),
  );
}

/**
 * True when retrying cannot help: the server answered 5xx, or nodemailer refused the envelope
 * itself (`EENVELOPE` with no SMTP reply: no recipient left, an address it will not put in
 * RCPT TO) — that refusal repeats identically on every retry (#10). An `EENVELOPE` that carries
 * a server reply is judged by that reply (4xx stays transient).
 */
export function isPermanent(err: unknown): boolean {
  const { responseCode, code } = (err ?? {}) as { responseCode?: unknown; code?: unknown };
  if (typeof responseCode === 'number') return responseCode >= 500 && responseCode < 600;
  return code === 'EENVELOPE';
}

/**
 * Sends one outbox row (the mailer job). Idempotent: a row that is not pending (or stale
 * `sending`) is left alone, so a duplicate job does nothing.
 * 1. claim the row in SQLite (committed before any SMTP traffic)
 * 2. render the template, seal (sign / encrypt), compose the MIME message
 * 3. submit over SMTP; on 250 mark it sent at once
 * 4. 5xx or a local envelope refusal → failed + staff alert; anything else → pending again and
 *    TransientSendError (retry)
 * Returns the ids of alert rows created (to enqueue).
 */
export async function deliverOutbox(deps: DeliverDeps, outboxId: number): Promise<number[]> {
  const { db, clock } = deps;
  const row = claimOutbox(db, clock, outboxId, staleClaimMs(deps.config));
  if (row === null) return [];
  const log = deps.log.child({ outboxId, caseId: row.case_id, kind: row.kind });
  let raw: Buffer;
  let envelopeFrom: string;
  try {
    const built = await protectSubject(deps, row, await buildMail(deps, row));
    envelopeFrom = built.envelopeFrom;
    raw = await composeMail(built.mail, built.protection, deps.sealer);
  } catch (err) {
    // A render/seal failure will not fix itself by retrying: fail the row and tell staff.
    log.error({ event: 'outbox.render-failed', err: describeError(err) }, 'could not build the mail');
    return alertIds(deps, row, `could not build the mail: ${describeError(err)}`);
  }
  try {
    const info = await deps.transport.sendMail({ envelope: { from: envelopeFrom, to: row.recipients }, raw });
    markSent(db, clock, row, info.response);
    log.info({ event: 'outbox.sent', recipients: row.recipients.length }, 'sent');
    return [];
  } catch (err) {
    if (isPermanent(err)) {
      log.warn({ event: 'outbox.failed', err: describeError(err) }, 'refused permanently');
      return alertIds(deps, row, describeError(err));
    }
    markRetry(db, row, describeError(err));
    log.warn(
      { event: 'outbox.deferred', err: describeError(err), attempt: row.attempts },
      'transient failure; will retry',
    );
    throw new TransientSendError(describeError(err), err);
  }
}

function alertIds(deps: DeliverDeps, row: OutboxRow, error: string): number[] {
  const id = markFailed(deps.db, deps.clock, row, error, {
    recipients: securityStaff(deps.config),
    domain: mailDomain(deps.config),
  });
  return id === null ? [] : [id];
}
