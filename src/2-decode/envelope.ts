import type { AddressObject, EmailAddress, HeaderLines, ParsedMail } from 'mailparser';
import type { Address, DecodedMessage } from './types.js';

/** The header-derived fields of a DecodedMessage. */
export type Envelope = Pick<
  DecodedMessage,
  'messageId' | 'inReplyTo' | 'references' | 'from' | 'replyTo' | 'to' | 'cc' | 'subject' | 'date' | 'headers'
>;

/**
 * Reads the headers classification needs from a parsed message. Identifiers and raw values come
 * from the raw header lines (mailparser keeps comments in In-Reply-To and returns References as a
 * string for one id and an array for several); addresses and the subject from mailparser.
 */
export function readEnvelope(
  mail: Pick<ParsedMail, 'headerLines' | 'from' | 'replyTo' | 'to' | 'cc' | 'subject'>,
  problems: string[],
): Envelope {
  const lines = mail.headerLines;
  const rawDate = firstRaw(lines, 'date');
  return {
    messageId: firstId(firstRaw(lines, 'message-id')),
    inReplyTo: firstId(firstRaw(lines, 'in-reply-to')),
    references: allRaw(lines, 'references').flatMap(idsIn),
    from: firstAddress(mail.from),
    replyTo: addresses(mail.replyTo),
    to: addresses(mail.to),
    cc: addresses(mail.cc),
    subject: cleanSubject(mail.subject ?? ''),
    date: parseDate(rawDate, problems),
    headers: {
      autoSubmitted: firstRaw(lines, 'auto-submitted'),
      precedence: firstRaw(lines, 'precedence'),
      listId: firstRaw(lines, 'list-id'),
      listUnsubscribe: firstRaw(lines, 'list-unsubscribe'),
      xAutoResponseSuppress: firstRaw(lines, 'x-auto-response-suppress'),
      returnPath: returnPath(firstRaw(lines, 'return-path')),
      contentType: firstRaw(lines, 'content-type'),
      autocrypt: firstRaw(lines, 'autocrypt'),
      authenticationResults: allRaw(lines, 'authentication-results'),
    },
  };
}

/** Removes every control character (C0 incl. CR/LF/NUL/TAB, DEL, C1) from a decoded subject. */
export function cleanSubject(subject: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return subject.replace(/[\u0000-\u001f\u007f-\u009f]+/g, '').trim();
}

/** Unfolded raw values of every header `name`, top-most first. */
export function allRaw(lines: HeaderLines, name: string): string[] {
  const out: string[] = [];
  for (const { key, line } of lines) {
    if (key !== name) continue;
    const colon = line.indexOf(':');
    out.push(
      line
        .slice(colon + 1)
        .replace(/\r?\n(?=[ \t])/g, '')
        .trim(),
    );
  }
  return out;
}

function firstRaw(lines: HeaderLines, name: string): string | null {
  return allRaw(lines, name)[0] ?? null;
}

/** Message-IDs in a header value, without angle brackets, in order. */
export function idsIn(value: string): string[] {
  const bracketed = [...value.matchAll(/<([^<>\s]+)>/g)].map((m) => m[1] ?? '').filter((id) => id !== '');
  if (bracketed.length > 0) return bracketed;
  // Sloppy senders omit the brackets: accept bare tokens that look like ids.
  return value.split(/[\s,]+/).filter((t) => t.includes('@'));
}

function firstId(value: string | null): string | null {
  return value === null ? null : (idsIn(value)[0] ?? null);
}

function returnPath(value: string | null): string | null {
  if (value === null) return null;
  const inner = /<([^<>]*)>/.exec(value)?.[1] ?? value;
  return inner.trim();
}

function parseDate(value: string | null, problems: string[]): string | null {
  if (value === null) return null;
  const parsed = new Date(value.replace(/\([^()]*\)/g, ' ').trim());
  if (Number.isNaN(parsed.getTime())) {
    problems.push('the Date header could not be parsed');
    return null;
  }
  return parsed.toISOString();
}

function flatten(list: readonly EmailAddress[]): EmailAddress[] {
  return list.flatMap((a) => (a.group === undefined ? [a] : flatten(a.group)));
}

function addresses(header: AddressObject | AddressObject[] | undefined): Address[] {
  if (header === undefined) return [];
  const objects = Array.isArray(header) ? header : [header];
  const out: Address[] = [];
  for (const entry of flatten(objects.flatMap((o) => o.value))) {
    const address = entry.address?.trim().toLowerCase() ?? '';
    if (address === '') continue;
    const name = entry.name.trim();
    out.push({ address, name: name === '' ? null : name });
  }
  return out;
}

function firstAddress(header: AddressObject | undefined): Address | null {
  return addresses(header)[0] ?? null;
}
