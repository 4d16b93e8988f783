import type { CommandOutcome } from '../../6-commands/plan.js';
import type { StaffMailInput } from '../../6-commands/prepare.js';
import type { Actor } from '../command-store.js';
import { sanitizeSubject } from '../subject.js';
import { addEvent, type CaseChange, type MailFacts } from './change.js';
import { mayAnswerRefusal } from './first-contact.js';
import { applyCommands, type StaffCaseFacts, type StaffContext, type StaffMail } from './staff-commands.js';

/** What the staff rules read. `case` is read only for an authenticated, fresh mail naming a case. */
export interface StaffFacts {
  rejectionsLastHour: number;
  /** The stored message that already used this signature, if any (replay). */
  signatureUsedBy: number | null;
  case: StaffCaseFacts | null;
}

/**
 * The case the commands go to: only one the authenticated subject names, never one that unsigned
 * In-Reply-To/References point at (#10 review): without a tag they meet the "no case" answer.
 */
export function staffTarget(threadedCase: string | null, input: StaffMailInput): string | null {
  const commandCount = input.parsed.commands.length + input.parsed.rejected.length;
  return commandCount > 0 && !input.namesCase ? null : threadedCase;
}

/** Whether the mail gets as far as the commands (authenticated, untampered, not a replay). */
export function reachesCommands(input: StaffMailInput, signatureUsedBy: number | null): boolean {
  return input.auth.ok && input.tampered === null && signatureUsedBy === null;
}

const REFUSAL_SUBJECT = {
  'staff.unauthenticated': 'your mail was not authenticated',
  'staff.replay': 'a signature used before (replay)',
  'staff.tampered': 'the subject or Message-ID was changed after signing',
} as const;

/**
 * What a mail from a configured staff address does (issue #4). Unauthenticated, tampered or
 * replayed: nothing changes; the member's configured address (never Reply-To) is told,
 * rate-limited. Authenticated: the commands are planned against the case and the RACI matrix,
 * the case, its events, deadlines and mails change, and the member gets a confirmation on the
 * case thread. Adds to `change`.
 */
export function decideStaffMail(
  change: CaseChange,
  mail: MailFacts,
  threadedCase: string | null,
  input: StaffMailInput,
  facts: StaffFacts,
  ctx: StaffContext & { conflict?: { tag: string; thread: string } | undefined },
): void {
  const m: StaffMail = {
    change,
    mail,
    input,
    caseId: staffTarget(threadedCase, input),
    address: input.member.address,
    commandCount: input.parsed.commands.length + input.parsed.rejected.length,
    thread: {
      inReplyTo: mail.messageId,
      references: [...mail.references, ...(mail.messageId === null ? [] : [mail.messageId])],
    },
  };
  const refusal = refusalOf(input, facts.signatureUsedBy);
  if (refusal !== null || !input.auth.ok) {
    if (refusal !== null) refuse(m, facts, ctx, refusal.type, refusal.reason);
    return;
  }
  const auth = input.auth;
  change.signature = { digest: auth.digest, method: auth.method, staff: m.address };
  const who: Actor = { actor: `staff:${m.address}`, auth: auth.label };
  if (m.caseId === null) {
    unthreaded(m, who, ctx.conflict);
    return;
  }
  if (facts.case === null) throw new Error(`case ${m.caseId} is not stored`);
  applyCommands(m, m.caseId, facts.case, who, auth.label, ctx);
}

type Refusal = { type: 'staff.unauthenticated' | 'staff.replay' | 'staff.tampered'; reason: string };

/**
 * Why a staff mail's commands are not applied, or null: not authenticated, altered after
 * signing (checked before the replay guard, so a copy altered on the way does not use up the
 * genuine signature), or a signature used before.
 */
export function refusalOf(input: StaffMailInput, signatureUsedBy: number | null): Refusal | null {
  if (!input.auth.ok) return { type: 'staff.unauthenticated', reason: input.auth.reason };
  if (input.tampered !== null) return { type: 'staff.tampered', reason: input.tampered };
  if (signatureUsedBy !== null) {
    return {
      type: 'staff.replay',
      reason: `this signature was already used (stored message ${signatureUsedBy}): a replay`,
    };
  }
  return null;
}

function refuse(
  m: StaffMail,
  facts: StaffFacts,
  ctx: StaffContext,
  type: Refusal['type'],
  reason: string,
): void {
  const { change, mail, input, caseId } = m;
  const unverified: Actor = { actor: `unverified:${m.address}`, auth: null };
  addEvent(change, mail, caseId, type, { reason, commands: m.commandCount }, unverified);
  // Only mail that tried to command is answered: a plain unsigned staff mail is just recorded.
  // A tampered one always is: the commands someone added on the way are in its outer Subject.
  if (m.commandCount === 0 && type !== 'staff.tampered') return;
  if (!mayAnswerRefusal(facts.rejectionsLastHour, ctx.config.commands.max_rejections_per_hour)) {
    addEvent(change, mail, caseId, 'staff.rejection-rate-limited', {}, { actor: 'system', auth: null });
    return;
  }
  change.outbox.push({
    caseId,
    kind: 'command-rejected',
    dedupeKey: `reject:${mail.messageRowId}`,
    recipients: [m.address],
    inReplyTo: null,
    references: [],
    subject: sanitizeSubject(
      `${caseId === null ? '' : `[${caseId}] `}Commands NOT applied: ${REFUSAL_SUBJECT[type]}`,
    ),
    payload: {
      template: 'command-rejected',
      messageRowId: mail.messageRowId,
      autoSubmitted: 'auto-generated',
      flags: [],
      reason,
      replay: type === 'staff.replay',
      tampered: type === 'staff.tampered',
      claimedMessageId: mail.messageId,
      commands: [
        ...input.parsed.commands.map((c) => `/${c.name}`),
        ...input.parsed.rejected.map((r) => r.text),
      ],
    },
  });
}

function unthreaded(m: StaffMail, who: Actor, conflict: { tag: string; thread: string } | undefined): void {
  const { change, mail, input } = m;
  addEvent(
    change,
    mail,
    null,
    'staff.mail-unthreaded',
    { commands: m.commandCount, ...(conflict ? { conflict } : {}) },
    who,
  );
  const why =
    conflict === undefined
      ? 'no case: reply to a case mail and keep the [case id] tag in the subject'
      : `the subject names ${conflict.tag} but the mail replies to the thread of ${conflict.thread}: nothing applied; send it again with the tag of the case you mean on that case's thread`;
  if (m.commandCount === 0) return;
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
  change.outbox.push({
    caseId: null,
    kind: 'command-confirmation',
    dedupeKey: `confirm:${mail.messageRowId}`,
    recipients: [m.address],
    ...m.thread,
    // sanitizeSubject makes the commands inert: replying to this does not send them again.
    subject: sanitizeSubject(`Re: ${mail.subject.trim() === '' ? '(no subject)' : mail.subject}`),
    payload: {
      template: 'command-confirmation',
      messageRowId: mail.messageRowId,
      autoSubmitted: 'auto-replied',
      flags: [],
      outcomes,
      help,
      snapshot: null,
    },
  });
}
