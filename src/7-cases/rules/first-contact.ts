import type { SignatureVerdict } from '../../2-decode/types.js';

/**
 * How a sender proved they are someone we already correspond with (issue #10). Anyone else is a
 * first contact and gets the stricter acknowledgment limit (`acknowledgment.max_first_contact_per_hour`):
 *
 * - `pinned-key`: a key for the address was pinned from an earlier mail (we encrypt to it);
 * - `signature`: this mail carries a valid signature by the address's pinned key (a key the mail
 *   itself brought counts once it is pinned — a key that differs from the pinned one does not);
 * - `replied-to-us`: the address once answered a mail we sent it, naming that mail's Message-ID in
 *   In-Reply-To/References. Our Message-IDs carry a random token, so only someone who received
 *   our mail can do this: it proves the mailbox, where `From:` proves nothing.
 *
 * A subject tag (`[SEC-…]`) is guessable and proves nothing; neither does having sent reports
 * before, nor an acknowledgment we sent that was never answered.
 */
export type KnownBy = 'pinned-key' | 'signature' | 'replied-to-us';

/** Why the flood guard held a new report's acknowledgment back (event `acknowledgment.held`). */
export interface AckHeld {
  /** `first-contact`: the stricter limit for senders we do not know yet applied. */
  reason: 'first-contact' | 'rate-limit';
  /** The limit that applied, and how many acknowledgments the sender got in the last hour. */
  limit: number;
  lastHour: number;
}

/** What became of a case's acknowledgment, for `psirt cases show` and `/ack`. */
export type AckStatus =
  | { state: 'mailed'; outboxId: number; outboxState: string; byCommand: boolean }
  | { state: 'held'; held: AckHeld }
  | { state: 'skipped'; reason: string }
  | { state: 'none' };

/** Event recorded when a sender replies to a mail we sent them (the `replied-to-us` proof). */
export const REPLIED_TO_US = 'reporter.replied-to-us';

/** What the store knows about a sender, read before the mail's own writes (issue #10). */
export interface CorrespondentFacts {
  /** A key pinned for the address from an earlier mail, proved by a signed mail since. */
  provenPin: boolean;
  /** The address once answered one of our mails (`reporter.replied-to-us`). */
  repliedToUs: boolean;
}

/**
 * Why `sender` is a known correspondent, or null for a first contact (see `KnownBy`). `pinned`
 * holds the fingerprints pinned for the address once this mail's keys are pinned: a valid
 * signature by a key the mail itself brought counts once it is pinned.
 */
export function knownBy(
  signature: SignatureVerdict | null,
  pinned: ReadonlySet<string>,
  facts: CorrespondentFacts,
): KnownBy | null {
  if (signature?.state === 'valid' && pinned.has(signature.fingerprint.toUpperCase())) return 'signature';
  if (facts.provenPin) return 'pinned-key';
  return facts.repliedToUs ? 'replied-to-us' : null;
}

/** The limits of `[acknowledgment]` in config. */
export interface AckLimits {
  max_first_contact_per_hour: number;
  max_per_sender_per_hour: number;
}

export type AckDecision =
  { kind: 'skip'; reason: 'no sender address' } | { kind: 'hold'; held: AckHeld } | { kind: 'send' };

/**
 * The flood guard of the automatic acknowledgment (invariant 4): no sender, no answer; a sender
 * who got `limit` acknowledgments in the last hour (counted per mailbox) waits for staff. A first
 * contact (`known` null) gets the stricter limit.
 */
export function decideAcknowledgment(
  sender: string,
  known: KnownBy | null,
  lastHour: number,
  limits: AckLimits,
): AckDecision {
  if (sender === '') return { kind: 'skip', reason: 'no sender address' };
  const limit = known === null ? limits.max_first_contact_per_hour : limits.max_per_sender_per_hour;
  if (lastHour >= limit) {
    return {
      kind: 'hold',
      held: { reason: known === null ? 'first-contact' : 'rate-limit', limit, lastHour },
    };
  }
  return { kind: 'send' };
}

/** The command-rejected flood guard: at most `max` refusals an hour to one address. */
export function mayAnswerRefusal(rejectionsLastHour: number, max: number): boolean {
  return rejectionsLastHour < max;
}
