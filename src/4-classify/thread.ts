import type { DecodedMessage } from '../2-decode/types.js';

/**
 * Every Message-ID a mail points back to, most specific first: In-Reply-To, then References
 * newest to oldest (RFC 5322 §3.6.4). Duplicates removed.
 */
export function threadIds(msg: Pick<DecodedMessage, 'inReplyTo' | 'references'>): string[] {
  const out: string[] = [];
  for (const id of [msg.inReplyTo, ...[...msg.references].reverse()]) {
    if (id !== null && id !== '' && !out.includes(id)) out.push(id);
  }
  return out;
}

/** Case tags `[SEC-2026-0042]` in a subject, in order of appearance, for the configured id pattern. */
export function subjectTags(subject: string, idPattern: string): string[] {
  const re = new RegExp(`\\[(${idPattern})\\]`, 'g');
  const out: string[] = [];
  for (const m of subject.matchAll(re)) {
    const tag = m[1];
    if (tag !== undefined && !out.includes(tag)) out.push(tag);
  }
  return out;
}
