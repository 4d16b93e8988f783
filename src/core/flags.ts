/**
 * Flags on a case (and on the payload of the mails about it): why it needs a human's attention
 * before anything else. One vocabulary for the store that sets them and the mailer that reads them.
 */
export const CASE_FLAGS = [
  'undecryptable',
  'corrupt',
  'oversize',
  'key-changed',
  'signature-invalid',
  /** Processing threw or crashed `intake.max_attempts` times; never decoded again (#10). */
  'processing-failed',
] as const;

export type CaseFlag = (typeof CASE_FLAGS)[number];

/**
 * Mail nobody could read: it is quarantined (moved aside), its case says why, and its reporter
 * gets only "it arrived" (never the error, never the ciphertext).
 */
export const UNREADABLE_FLAGS: ReadonlySet<CaseFlag> = new Set([
  'undecryptable',
  'corrupt',
  'oversize',
  'processing-failed',
]);

/**
 * Unreadable mail the mailer must not decode again: it failed to parse, or crashed the intake.
 * (Undecryptable and oversize mail is decoded again, to show staff what can be shown.)
 */
export const NOT_DECODED_FLAGS: ReadonlySet<CaseFlag> = new Set(['corrupt', 'processing-failed']);

export function isCaseFlag(f: string): f is CaseFlag {
  return (CASE_FLAGS as readonly string[]).includes(f);
}

/** Whether any of `flags` (as stored, so any string) is in `set`. */
export function hasFlagIn(set: ReadonlySet<CaseFlag>, flags: readonly string[]): boolean {
  return flags.some((f) => isCaseFlag(f) && set.has(f));
}
