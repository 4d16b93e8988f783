import type { CaseState } from '../../6-commands/plan.js';
import type { CaseFlag } from '../../core/flags.js';
import type { Actor, NewOutboxRow } from '../command-store.js';
import type { NewEvent } from '../events.js';
import type { DeadlineSync } from './deadlines.js';
import type { KeyPins } from './keys.js';
import type { CaseSubject } from '../sealed-subject.js';
import type { AdvisoryFields, AdvisorySnapshot } from '../../advisory/model.js';

/** A version to freeze, as a change plans it (CaseChange.versions). */
export interface NewAdvisoryVersion {
  caseId: string;
  kind: 'draft' | 'revision';
  /** The revision number from the plan, or the draft number (StaffCaseFacts.drafts + 1). */
  number: number;
  by: string;
  summary: string;
  snapshot: AdvisorySnapshot;
}

export type EventData = NonNullable<NewEvent['data']>;

/**
 * An outbox row of a change. With `reporterThread` (the Message-IDs of the reporter's thread
 * before this change, oldest first) the store threads it after the rows of the same change that
 * went on that thread before it: their Message-IDs exist only once the store minted them.
 */
export type PlannedOutbox = NewOutboxRow & { reporterThread?: readonly string[] };

/** A case to open. */
export interface NewCaseRow {
  id: string;
  year: number;
  seq: number;
  reporterAddress: string;
  reporterName: string | null;
  /** What `cases.subject` holds in clear: PROTECTED_SUBJECT, for every report (#13). */
  subject: string;
  /** The report's real subject (sanitized) for `cases.subject_sealed`: the writer seals it. */
  sealedSubject: CaseSubject;
  flags: CaseFlag[];
}

/** What happens to the acknowledge deadline before the deadlines are synced. */
export type AcknowledgeEffect =
  | {
      effect: 'insert';
      caseId: string;
      dueAt: string;
      /** `cancelled` when the flood guard holds the acknowledgment (or there is no one to answer). */
      state: 'open' | 'cancelled';
      calendarId: string;
      policy: string;
    }
  | { effect: 'cancel' | 'reopen'; caseId: string };

/**
 * What one classified mail does, computed by the rules from what the store read; the store
 * writes all of it in the mail's one transaction (invariants 2, 3, 7). Lists keep their order:
 * events append to the hash chain and outbox rows get their ids in that order.
 */
export interface CaseChange {
  /** The instant of the change: every row it writes carries it. */
  at: string;
  newCase: NewCaseRow | null;
  /** Column writes on a stored case. */
  caseWrites: {
    id: string;
    /** The case after staff commands (every column they set). */
    state?: CaseState;
    /** The reporter answered: the case no longer waits on them (/pause). */
    clearWaiting?: boolean;
    flags?: CaseFlag[];
    /** `updated_at` moves to `at`. */
    touch?: boolean;
    /** The reporter's stated credit from a `Credit:` line ('' = none; issue #14), stamped `at`. */
    creditPreference?: string;
    /** The advisory fields after staff commands (issue #14), written sealed. */
    advisory?: AdvisoryFields;
  } | null;
  /** Advisory versions to freeze (a draft sent, a revision published: issue #14). */
  versions: NewAdvisoryVersion[];
  /**
   * Customers told of a revision (issue #14): one row each, linked to the outbox row of the same
   * change with `dedupeKey`.
   */
  customerNotices: {
    caseId: string;
    customer: string;
    address: string;
    revision: number;
    encrypted: boolean;
    by: string;
    dedupeKey: string;
  }[];
  links: { caseId: string; otherId: string; kind: 'related' | 'duplicate-of' | 'quoted-tag' }[];
  keys: { address: string; pins: KeyPins } | null;
  /** A staff command signature used up (replay guard). */
  signature: { digest: string; method: string; staff: string } | null;
  /** A delivery report about one of our rows. */
  bounce: { outboxId: number; error: string } | null;
  events: NewEvent[];
  acknowledge: AcknowledgeEffect | null;
  /** The one deadline effect: the case's deadlines and escalation steps after the change. */
  deadlines: DeadlineSync | null;
  outbox: PlannedOutbox[];
  /** The stored message's verdict (state `applied`). */
  message: {
    rowId: number;
    caseId: string | null;
    failure: string | null;
    sender: string | null;
    verdict: string | null;
  };
  quarantine: boolean;
}

/**
 * A change that no stored mail carries: a command the local operator ran through the CLI
 * (`psirt hold`, issue #13). Written by the same store function as a mail's change.
 */
export type CaseOnlyChange = Pick<
  CaseChange,
  'at' | 'caseWrites' | 'links' | 'events' | 'acknowledge' | 'deadlines' | 'outbox'
>;

/** What the rules know about the mail being applied (worked out once, before the transaction). */
export interface MailFacts {
  messageRowId: number;
  messageId: string | null;
  /** Lower-cased; '' when the mail names none. */
  sender: string;
  senderName: string | null;
  /** `reporter:…`, `unverified:…` (a staff address before authentication) or `unknown`. */
  actor: string;
  /**
   * The subject that may be written in clear: PROTECTED_SUBJECT for every mail (#13), so no
   * case row or outbox row holds a report's words; the mailer fills in the real one.
   */
  subject: string;
  /** The mail's real subject (sanitized; null when undecoded), kept only sealed. */
  sealedSubject: CaseSubject;
  flags: CaseFlag[];
  quarantine: boolean;
  failure: string | null;
  inReplyTo: string | null;
  references: string[];
  /** JSON of the decoded mail's encryption and signature verdicts, null when undecoded. */
  verdict: string | null;
  now: Date;
  at: string;
}

/** An empty change for `mail`: the message is marked applied, nothing else. */
export function startChange(mail: MailFacts): CaseChange {
  return {
    at: mail.at,
    newCase: null,
    caseWrites: null,
    links: [],
    keys: null,
    signature: null,
    bounce: null,
    events: [],
    acknowledge: null,
    deadlines: null,
    outbox: [],
    versions: [],
    customerNotices: [],
    message: {
      rowId: mail.messageRowId,
      caseId: null,
      failure: mail.failure,
      sender: mail.sender === '' ? null : mail.sender,
      verdict: mail.verdict,
    },
    quarantine: mail.quarantine,
  };
}

/** Records an event of the mail (its data always names the stored message). */
export function addEvent(
  change: CaseChange,
  mail: MailFacts,
  caseId: string | null,
  type: string,
  data: EventData = {},
  who: Actor = { actor: mail.actor, auth: null },
): void {
  change.events.push({
    caseId,
    type,
    actor: who.actor,
    auth: who.auth,
    messageId: mail.messageId,
    data: { messageRowId: mail.messageRowId, ...data },
  });
}

/** The change, filed to `caseId`. */
export function fileTo(change: CaseChange, caseId: string | null): CaseChange {
  change.message.caseId = caseId;
  return change;
}
