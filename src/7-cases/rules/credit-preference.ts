import type { SignatureVerdict } from '../../2-decode/types.js';
import { statedCredit } from '../../6-commands/credit-line.js';
import { addEvent, type CaseChange, type MailFacts } from './change.js';

/** What the credit rule reads of a follow-up besides the mail (src/7-cases/mail-facts.ts). */
export interface CreditFacts {
  /** The case's reporter address (lower-cased), '' when it has none. */
  reporterAddress: string;
  /** Fingerprints (upper-case) of the keys pinned for the reporter's address. */
  reporterPins: readonly string[];
  /** The decoded text of the mail ('' when undecoded). */
  text: string;
  signature: SignatureVerdict | null;
  /** The advisory drafts mailed to the reporter on this case: their Message-IDs and numbers. */
  drafts: readonly { messageId: string; number: number }[];
}

/** What the staff notification of the follow-up says about it (issue #14). */
export interface CreditMark {
  /** The credit the reporter stated and that was recorded ('' = none). */
  stated?: { credit: string; by: 'address' | 'signature' };
  /** A `Credit:` line that was not recorded, and why (never its value). */
  ignored?: 'not-the-reporter' | 'empty' | 'too-long' | 'not-printable' | 'ambiguous';
  /** The number of the draft this mail answers (In-Reply-To/References name its Message-ID). */
  answersDraft?: number;
}

/**
 * A `Credit:` line in a follow-up (issue #14): the reporter's stated preference is recorded on
 * the case when the mail comes from the case's reporter address or carries a valid signature by
 * a key pinned for it; from anyone else the line is ignored (an event says so, without its value).
 * It changes nothing else. Pure.
 */
export function decideCreditLine(
  change: CaseChange,
  mail: MailFacts,
  caseId: string,
  f: CreditFacts,
): CreditMark {
  const mark: CreditMark = {};
  const named = new Set([...(mail.inReplyTo === null ? [] : [mail.inReplyTo]), ...mail.references]);
  const answered = f.drafts.filter((d) => named.has(d.messageId)).map((d) => d.number);
  if (answered.length > 0) mark.answersDraft = Math.max(...answered);
  const line = statedCredit(f.text);
  if (line === null) return mark;
  const by = authorOf(mail.sender, f);
  if (by === null) {
    mark.ignored = 'not-the-reporter';
    addEvent(change, mail, caseId, 'case.credit-line-ignored', { reason: mark.ignored });
    return mark;
  }
  if (line.kind === 'invalid') {
    mark.ignored = line.reason;
    addEvent(change, mail, caseId, 'case.credit-line-ignored', { reason: line.reason });
    return mark;
  }
  mark.stated = { credit: line.credit, by };
  if (change.caseWrites !== null) change.caseWrites.creditPreference = line.credit;
  addEvent(change, mail, caseId, 'case.credit-preference', {
    credit: line.credit,
    by,
    ...(mark.answersDraft === undefined ? {} : { draft: mark.answersDraft }),
  });
  return mark;
}

/** Whether the mail speaks for the reporter: their address, or their pinned key's signature. */
function authorOf(sender: string, f: CreditFacts): 'address' | 'signature' | null {
  if (f.reporterAddress !== '' && sender === f.reporterAddress.toLowerCase()) return 'address';
  const s = f.signature;
  if (s?.state === 'valid' && f.reporterPins.includes(s.fingerprint.toUpperCase())) return 'signature';
  return null;
}
