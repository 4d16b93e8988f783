import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** One message of an export (issue #15): its position (1-based), bytes and recorded date. */
export interface ExportedMessage {
  index: number;
  raw: Buffer;
  /** The date the export recorded (the mbox `From ` line, the Maildir file's time), ISO, or null. */
  recordedAt: string | null;
}

const FROM = Buffer.from('From ');

/** Whether `line` (without its newline) is `>…>From ` — a body line the writer quoted (mboxrd/mboxo). */
function isQuotedFrom(line: Buffer): boolean {
  let i = 0;
  while (i < line.length && line[i] === 0x3e) i++;
  return i > 0 && line.subarray(i, i + FROM.length).equals(FROM);
}

/** The date of a `From sender asctime-date` separator, or null (never throws). */
function separatorDate(line: Buffer): string | null {
  const text = line.toString('latin1').trim();
  const first = text.indexOf(' ');
  const second = first < 0 ? -1 : text.indexOf(' ', first + 1);
  if (second < 0) return null;
  const rest = text.slice(second + 1).trim();
  // asctime carries no zone; mbox writers put UTC there.
  const zoned = /[+-]\d{4}$|[A-Z]{3}$/.test(rest) ? rest : `${rest} UTC`;
  const t = new Date(zoned).getTime();
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

const isBlank = (line: Buffer): boolean => line.length === 0 || (line.length === 1 && line[0] === 0x0d);

/**
 * Reads an mbox file message by message, streaming (a 1 GB export is never held whole; one
 * message at a time is). A message starts at a `From ` line at the start of the file or after a
 * blank line; the blank line before a separator belongs to the format, not the message. Body
 * lines quoted as `>From ` (mboxo) or `>>From ` (mboxrd) lose one `>`. Line endings are kept.
 * A small hand-written splitter: the format is a line rule, and the npm mbox readers either load
 * the file whole or do not unquote mboxrd.
 */
export async function* readMbox(path: string): AsyncGenerator<ExportedMessage> {
  let index = 0;
  let lines: Buffer[] = [];
  let recordedAt: string | null = null;
  let started = false;
  let prevBlank = true;
  let carry: Buffer = Buffer.alloc(0);

  const finish = (): ExportedMessage | null => {
    if (!started) return null;
    // The separator's blank line: drop one trailing empty line.
    const last = lines.at(-1);
    if (last !== undefined && isBlank(last)) lines.pop();
    const parts: Buffer[] = [];
    for (const l of lines) parts.push(l, NL);
    index += 1;
    return { index, raw: Buffer.concat(parts), recordedAt };
  };

  const take = (line: Buffer): ExportedMessage | null => {
    if (prevBlank && line.subarray(0, FROM.length).equals(FROM)) {
      const done = finish();
      started = true;
      lines = [];
      recordedAt = separatorDate(line);
      prevBlank = false;
      return done;
    }
    prevBlank = isBlank(line);
    if (!started) return null; // bytes before the first separator are not a message
    lines.push(isQuotedFrom(line) ? line.subarray(1) : line);
    return null;
  };

  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let buf = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    let nl = buf.indexOf(0x0a);
    while (nl >= 0) {
      const m = take(Buffer.from(buf.subarray(0, nl)));
      if (m !== null) yield m;
      buf = buf.subarray(nl + 1);
      nl = buf.indexOf(0x0a);
    }
    carry = Buffer.from(buf);
  }
  if (carry.length > 0) {
    const m = take(carry);
    if (m !== null) yield m;
  }
  const last = finish();
  if (last !== null) yield last;
}

const NL = Buffer.from('\n');

/**
 * Reads a Maildir's messages (`cur/` and `new/`, never `tmp/`, no dot files), in a stable order
 * (folder, then file name: Maildir names start with the delivery time). The recorded date is the
 * file's modification time.
 */
export async function* readMaildir(dir: string): AsyncGenerator<ExportedMessage> {
  const files: string[] = [];
  for (const sub of ['cur', 'new']) {
    let names: string[];
    try {
      names = await readdir(join(dir, sub));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    for (const n of names.filter((x) => !x.startsWith('.')).sort()) files.push(join(dir, sub, n));
  }
  if (files.length === 0) {
    await stat(dir); // a missing folder is an error naming it; an empty Maildir is no message
  }
  let index = 0;
  for (const file of files) {
    const info = await stat(file);
    if (!info.isFile()) continue;
    index += 1;
    yield { index, raw: await readFile(file), recordedAt: info.mtime.toISOString() };
  }
}

/** How many messages an mbox holds (separators counted while streaming), for the progress bar. */
export async function countMbox(path: string): Promise<number> {
  let n = 0;
  let prevBlank = true;
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let buf = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    let nl = buf.indexOf(0x0a);
    while (nl >= 0) {
      const line = buf.subarray(0, nl);
      if (prevBlank && line.subarray(0, FROM.length).equals(FROM)) n += 1;
      prevBlank = isBlank(line);
      buf = buf.subarray(nl + 1);
      nl = buf.indexOf(0x0a);
    }
    carry = Buffer.from(buf);
  }
  if (prevBlank && carry.subarray(0, FROM.length).equals(FROM)) n += 1;
  return n;
}

/** How many messages a Maildir holds (file names only; nothing is read). */
export async function countMaildir(dir: string): Promise<number> {
  let n = 0;
  for (const sub of ['cur', 'new']) {
    try {
      n += (await readdir(join(dir, sub))).filter((x) => !x.startsWith('.')).length;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return n;
}
