import { assertNever } from '../core/errors.js';
import { UNREADABLE_FLAGS } from '../core/flags.js';
import type { ApplyDeps, ApplyInput, ApplyResult } from './case-store.js';
import { countAdopted, markHistorical, type AdoptionCount } from './adoption-store.js';
import { writeChange } from './change-store.js';
import { readFollowUp, readNewReport } from './mail-facts.js';
import { fileTo, startChange, type CaseChange, type MailFacts } from './rules/change.js';
import {
  decideAutomated,
  decideDuplicate,
  decideFollowUp,
  decideNewReport,
  decideStaffRecorded,
} from './rules/message.js';
import { decideStaffMail } from './rules/staff-mail.js';
import { readStaffFacts } from './staff-facts.js';
import { isProtectedReport, PROTECTED_SUBJECT, sanitizeSubject } from './subject.js';
import { staffByAddress } from '../core/staff.js';

/**
 * Step (d) of the flow: applies a classified message in one IMMEDIATE transaction — case, events,
 * deadlines, outbox rows and the message state change together, or not at all (invariants 2, 3, 7).
 * Reads what the rules need, lets the rules (`rules/`, pure) decide the change, writes it.
 * Idempotent: a message already applied returns what it produced without writing again.
 */
export function applyMessage(deps: ApplyDeps, input: ApplyInput): ApplyResult {
  const { db, config } = deps;
  return db
    .transaction((): ApplyResult => {
      const row = db
        .prepare('SELECT state, case_id, failure FROM messages WHERE id = ?')
        .get(input.messageRowId) as
        { state: string; case_id: string | null; failure: string | null } | undefined;
      if (!row) throw new Error(`message ${input.messageRowId} is not stored`);
      if (row.state !== 'received') {
        const ids = (
          db
            .prepare('SELECT id FROM outbox WHERE payload ->> ? = ?')
            .all('$.messageRowId', input.messageRowId) as {
            id: number;
          }[]
        ).map((r) => r.id);
        return {
          caseId: row.case_id,
          outboxIds: ids,
          backgroundOutboxIds: [],
          quarantine: row.failure !== null,
        };
      }
      const change = decide(deps, input, mailFactsOf(deps, input));
      if (deps.historical !== undefined) asHistory(change, deps.historical.adoptionId, input);
      const written = writeChange(db, config, deps.vault, change);
      if (deps.historical !== undefined) {
        const caseId = change.message.caseId;
        if (caseId !== null) markHistorical(db, caseId, change.newCase !== null);
        countAdopted(db, deps.historical.adoptionId, adoptionCount(change, input));
      }
      return { caseId: change.message.caseId, ...written, quarantine: change.quarantine };
    })
    .immediate();
}

/**
 * The change of a mail imported as history (issue #15): recorded as the live intake would record
 * it, but nothing leaves — no acknowledgment, no staff notification, no answer, no customer
 * notice — and an opened case says it was imported.
 */
function asHistory(change: CaseChange, adoptionId: number, input: ApplyInput): void {
  change.outbox = [];
  change.customerNotices = [];
  // The hash-chained log records what happened: no mail was queued or sent, so no event that
  // says one was (or that one waits to be sent) goes in; `case.imported` says what was done.
  const claimed = change.events.filter((e) => MAIL_CLAIMING_EVENTS.has(e.type));
  change.events = change.events.filter((e) => !MAIL_CLAIMING_EVENTS.has(e.type));
  if (change.newCase !== null) {
    // How the sender was known (a signature proves a pinned key, first-contact.ts) survives.
    const knownBy = claimed.find((e) => e.data?.knownBy !== undefined)?.data?.knownBy;
    change.events.push({
      caseId: change.newCase.id,
      type: 'case.imported',
      actor: 'system',
      auth: null,
      data: { messageRowId: input.messageRowId, adoptionId, ...(knownBy === undefined ? {} : { knownBy }) },
    });
  }
}

/**
 * Events that say a mail was queued, sent or is waiting to be sent: never true of imported
 * history (issue #15 trial), so `asHistory` drops them.
 */
export const MAIL_CLAIMING_EVENTS: ReadonlySet<string> = new Set([
  'acknowledgment.queued',
  'acknowledgment.held',
  'staff.notified',
  'advisory.customers-notified',
  'advisory.draft-sent',
  'escalation.sent',
  'outbox.sent',
]);

/** Which counter of the import a mail moves. */
function adoptionCount(change: CaseChange, input: ApplyInput): AdoptionCount {
  if (change.quarantine) return 'quarantined';
  if (change.newCase !== null) return 'cases_created';
  if (input.classification.kind === 'follow-up') return 'follow_ups';
  return 'other';
}

/** What the rules know of the mail itself. */
function mailFactsOf(deps: ApplyDeps, input: ApplyInput): MailFacts {
  const { clock, config } = deps;
  const now = clock.now();
  const d = input.decoded;
  const sender = (d?.from?.address ?? input.fallback.sender ?? '').toLowerCase();
  const flags = [...new Set(input.flags)];
  const quarantine = flags.some((f) => UNREADABLE_FLAGS.has(f));
  // From: is not proof: a staff address is "unverified" until the staff rules authenticate it.
  const staffAddress = staffByAddress(config.staff, sender) !== undefined;
  return {
    messageRowId: input.messageRowId,
    messageId: d?.messageId ?? input.fallback.messageId,
    sender,
    senderName: d?.from?.name ?? null,
    actor: sender === '' ? 'unknown' : staffAddress ? `unverified:${sender}` : `reporter:${sender}`,
    // Nothing of a report is written in clear (#13): the case row and the outbox rows show
    // PROTECTED_SUBJECT, and the real subject is sealed in `cases.subject_sealed`, with whether
    // it was itself protected — it came encrypted or with protected headers (decision 0005), or
    // could not be decoded (corrupt, oversize, processing failed: nothing says it was not
    // encrypted, and its outer Subject may be the real one, #10 review). The mailer puts the
    // real subject in clear only for a report that was not protected.
    subject: PROTECTED_SUBJECT,
    sealedSubject: {
      subject: d === null ? null : sanitizeSubject(d.subject),
      protected: d === null || isProtectedReport(d),
    },
    flags,
    quarantine,
    failure: quarantine ? flags.filter((f) => UNREADABLE_FLAGS.has(f)).join(',') : null,
    inReplyTo: d?.inReplyTo ?? null,
    references: d?.references ?? [],
    verdict: d ? JSON.stringify({ encryption: d.encryption, signature: d.signature }) : null,
    now,
    at: now.toISOString(),
  };
}

/** Reads the facts the classification's rules need and lets them decide the change. */
function decide(deps: ApplyDeps, input: ApplyInput, mail: MailFacts): CaseChange {
  const { db, config, calendar, caseIdFormat } = deps;
  const ctx = { config, calendar, caseIdFormat };
  const c = input.classification;
  const d = input.decoded;
  switch (c.kind) {
    case 'duplicate':
      return decideDuplicate(mail, c);
    case 'automated':
      return decideAutomated(mail, c, d?.delivery ?? null);
    case 'staff': {
      if (input.staff === undefined) return decideStaffRecorded(mail, c);
      const change = startChange(mail);
      const facts = readStaffFacts(db, deps.vault, c.caseId, input.staff, mail.now);
      decideStaffMail(change, mail, c.caseId, input.staff, facts, {
        config,
        calendar,
        caseIdPattern: caseIdFormat.pattern,
        conflict: c.conflict,
      });
      return fileTo(change, c.caseId);
    }
    case 'follow-up':
      return decideFollowUp(mail, c, d?.keys ?? [], readFollowUp(db, c.caseId, mail.sender, d), ctx);
    case 'new-report': {
      const facts = readNewReport(db, {
        config,
        caseIdFormat,
        sender: mail.sender,
        messageRowId: mail.messageRowId,
        now: mail.now,
        decoded: d,
      });
      return decideNewReport(mail, c, d?.keys ?? [], facts, ctx);
    }
    default:
      return assertNever(c);
  }
}
