/**
 * A cheap scan of a raw message's header block, used before (or instead of) full MIME parsing:
 * for the duplicate check at store time and for mail that cannot be parsed at all. Unfolds
 * continuation lines; does not decode RFC 2047 words.
 */
export interface RawHeaderScan {
  messageId: string | null;
  from: string | null;
  subject: string;
}

const MAX_HEADER_BYTES = 256 * 1024;

export function scanRawHeaders(raw: Buffer): RawHeaderScan {
  const head = raw.subarray(0, MAX_HEADER_BYTES).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const block = (end === -1 ? head : head.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const get = (name: string): string | null => {
    const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(block);
    return m?.[1]?.trim() ?? null;
  };
  const id = get('message-id');
  const idMatch = id === null ? null : /<([^<>\s]+)>/.exec(id);
  const from = get('from');
  const addr =
    from === null
      ? null
      : (/<([^<>\s@]+@[^<>\s]+)>/.exec(from)?.[1] ?? /([^\s<>"]+@[^\s<>"]+)/.exec(from)?.[1] ?? null);
  return {
    messageId: idMatch?.[1] ?? (id !== null && id !== '' && !/\s/.test(id) ? id : null),
    from: addr?.toLowerCase() ?? null,
    subject: get('subject') ?? '',
  };
}
