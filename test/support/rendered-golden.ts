import type { OutboxRow } from '../../src/7-cases/outbox-store.js';
import type { BuiltMail } from '../../src/8-outbox/kinds/kind.js';

/** Minted Message-IDs carry a random token: the golden shows them by their kind. */
const MINTED = /[a-z0-9-]+\.([a-z-]+)\.[0-9a-f]{12}@psirt\.test/g;
const stable = (s: string): string => s.replace(MINTED, '<minted $1>');

/** What of a rendered mail the golden file pins: every byte of text and every header we set. */
export function goldenOf(row: OutboxRow, built: BuiltMail) {
  const m = built.mail;
  return {
    row: `${row.id} ${row.kind}`,
    to: m.to,
    replyTo: m.replyTo ?? null,
    subject: m.subject,
    outerSubject: m.outerSubject,
    inReplyTo: m.inReplyTo === null ? null : stable(m.inReplyTo),
    references: m.references.map(stable),
    headers: m.headers,
    protection: built.protection.kind,
    envelopeFrom: built.envelopeFrom,
    text: stable(m.text).split('\r\n'),
  };
}
