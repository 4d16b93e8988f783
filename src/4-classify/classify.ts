import type { DecodedMessage } from '../2-decode/types.js';
import { detectAutomated, type AutomatedReason } from './automated.js';
import { subjectTags, threadIds } from './thread.js';

export type MatchedBy = 'in-reply-to' | 'references' | 'subject-tag';

/** What the store knows about the ids and tags a mail refers to, looked up before classifying. */
export interface ThreadIndex {
  /** Message-ID (ours or theirs) → the case it belongs to. Only ids from `threadIds(msg)` needed. */
  caseByMessageId: ReadonlyMap<string, string>;
  /** Case id → addresses that took part in it (reporter and anyone already on it). */
  participantsByCase: ReadonlyMap<string, readonly string[]>;
  /** Another stored message with the same Message-ID, if any. */
  sameMessageId: { messageRowId: number; caseId: string | null } | null;
  /** The outbox row a delivery report is about (by the returned original Message-ID). */
  bouncedOutbox: { outboxId: number; caseId: string | null } | null;
  /**
   * Cases whose content the retention purge removed, among those the mail's thread headers or
   * subject tags name (#13). They are left out of the maps above: nothing attaches to a tombstone.
   */
  purgedCases?: ReadonlySet<string>;
}

export interface ClassifyContext {
  /** Our own addresses (security@, the From of our mail), lower-cased. */
  ourAddresses: readonly string[];
  /** Configured staff addresses, lower-cased. */
  staffAddresses: readonly string[];
  /** Regex source matching one case id (from the configured format). */
  caseIdPattern: string;
}

export type Classification =
  | { kind: 'duplicate'; of: number; caseId: string | null }
  | {
      kind: 'automated';
      reason: AutomatedReason;
      caseId: string | null;
      bounce: { outboxId: number; caseId: string | null } | null;
    }
  | {
      kind: 'staff';
      staff: string;
      caseId: string | null;
      matchedBy: MatchedBy | null;
      /** The subject tag names one case and the thread headers another: no case is assumed. */
      conflict?: { tag: string; thread: string };
    }
  | { kind: 'follow-up'; caseId: string; matchedBy: MatchedBy }
  /**
   * `linkedTo`: a case whose tag a stranger quoted; the new case is linked to it. `purged`: a
   * purged case the mail's thread or tag points at (#13): the mail opens a new case, related to it.
   */
  | { kind: 'new-report'; linkedTo: string | null; purged?: string };

function findThread(
  msg: DecodedMessage,
  index: ThreadIndex,
  ctx: ClassifyContext,
  sender: string,
): { caseId: string; matchedBy: MatchedBy } | { quotedTag: string } | null {
  // 1. Headers first: In-Reply-To, then References (STYLE.md rule 10).
  const ids = threadIds(msg);
  for (const id of ids) {
    const caseId = index.caseByMessageId.get(id);
    if (caseId !== undefined)
      return { caseId, matchedBy: id === msg.inReplyTo ? 'in-reply-to' : 'references' };
  }
  // 2. The subject tag, only when the sender already takes part in that case (or is staff).
  let quoted: string | null = null;
  for (const tag of subjectTags(msg.subject, ctx.caseIdPattern)) {
    const participants = index.participantsByCase.get(tag);
    if (participants === undefined) continue;
    if (participants.includes(sender) || ctx.staffAddresses.includes(sender)) {
      return { caseId: tag, matchedBy: 'subject-tag' };
    }
    quoted ??= tag;
  }
  return quoted === null ? null : { quotedTag: quoted };
}

/**
 * Decides what a decoded mail is. Pure: every lookup was done by the caller (`ThreadIndex`).
 * 1. the same Message-ID already stored → duplicate (no new case, nothing sent)
 * 2. automated (RFC 3834, DSN, lists, our own mail) → recorded, never answered
 * 3. from configured staff → recorded on its case (commands: issue #4)
 * 4. threaded to a case → reporter follow-up
 * 5. otherwise a new report; a stranger quoting a case tag gets a new case linked to the old one
 */
export function classify(msg: DecodedMessage, index: ThreadIndex, ctx: ClassifyContext): Classification {
  if (index.sameMessageId !== null) {
    return { kind: 'duplicate', of: index.sameMessageId.messageRowId, caseId: index.sameMessageId.caseId };
  }
  const sender = msg.from?.address ?? '';
  const thread = findThread(msg, index, ctx, sender);
  const threadedCase = thread !== null && 'caseId' in thread ? thread : null;

  const automated = detectAutomated(msg, ctx.ourAddresses);
  if (automated !== null) {
    const bounce = automated === 'delivery-report' ? index.bouncedOutbox : null;
    return {
      kind: 'automated',
      reason: automated,
      bounce,
      caseId: bounce?.caseId ?? threadedCase?.caseId ?? null,
    };
  }
  if (ctx.staffAddresses.includes(sender)) {
    // For staff the subject tag names the case (commands act on it); headers only fill in.
    const tag = subjectTags(msg.subject, ctx.caseIdPattern).find((t) => index.participantsByCase.has(t));
    if (tag !== undefined && threadedCase !== null && threadedCase.caseId !== tag) {
      return {
        kind: 'staff',
        staff: sender,
        caseId: null,
        matchedBy: null,
        conflict: { tag, thread: threadedCase.caseId },
      };
    }
    return {
      kind: 'staff',
      staff: sender,
      caseId: tag ?? threadedCase?.caseId ?? null,
      matchedBy: tag !== undefined ? 'subject-tag' : (threadedCase?.matchedBy ?? null),
    };
  }
  if (threadedCase !== null)
    return { kind: 'follow-up', caseId: threadedCase.caseId, matchedBy: threadedCase.matchedBy };
  const linkedTo = thread !== null && 'quotedTag' in thread ? thread.quotedTag : null;
  const purged = purgedReference(index);
  return { kind: 'new-report', linkedTo, ...(purged === null ? {} : { purged }) };
}

/**
 * The purged case the mail points at, if any (#13): the store adds them in the order it looks
 * them up — thread headers first, then subject tags — so the first one is the best match.
 */
function purgedReference(index: ThreadIndex): string | null {
  const purged = index.purgedCases;
  if (purged === undefined) return null;
  for (const id of purged) return id;
  return null;
}
