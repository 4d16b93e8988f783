import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countMaildir, countMbox, readMaildir, readMbox } from '../../../src/1-intake/mail-export.js';
import { originalDate } from '../../../src/core/original-date.js';

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'psirt-export-'));

describe('readMbox()', () => {
  it('splits at From lines, drops the separator blank line and unquotes >From (mboxo and mboxrd)', async () => {
    const file = join(tmp(), 'a.mbox');
    writeFileSync(
      file,
      'From a@example.org Mon Jan  1 10:00:00 2024\nSubject: one\n\n>From here\n>>From there\nFrom inside a paragraph\n\n' +
        'From b@example.org Tue Jan  2 10:00:00 2024\nSubject: two\n\nbody\n',
    );
    const msgs = await all(readMbox(file));
    expect(msgs.map((m) => m.raw.toString())).toEqual([
      'Subject: one\n\nFrom here\n>From there\nFrom inside a paragraph\n',
      'Subject: two\n\nbody\n',
    ]);
    expect(msgs.map((m) => m.recordedAt)).toEqual(['2024-01-01T10:00:00.000Z', '2024-01-02T10:00:00.000Z']);
    expect(msgs.map((m) => m.index)).toEqual([1, 2]);
    expect(await countMbox(file)).toBe(2);
  });

  it('reads a message split across stream chunks (64 KiB) byte for byte', async () => {
    const file = join(tmp(), 'big.mbox');
    const body = `${'x'.repeat(70_000)}\n${'y'.repeat(100_000)}\n`;
    writeFileSync(
      file,
      `From a@example.org Mon Jan  1 10:00:00 2024\nSubject: big\n\n${body}\nFrom b@x Mon Jan  1 10:00:00 2024\nSubject: small\n\nok\n`,
    );
    const msgs = await all(readMbox(file));
    expect(msgs).toHaveLength(2);
    expect(msgs[0]?.raw.toString()).toBe(`Subject: big\n\n${body}`);
    expect(msgs[1]?.raw.toString()).toBe('Subject: small\n\nok\n');
  });
});

describe('readMaildir()', () => {
  it('reads cur/ and new/ in a stable order, never tmp/ or dot files', async () => {
    const dir = tmp();
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, 'new', '2.host'), 'Subject: new\n\n');
    writeFileSync(join(dir, 'cur', '1.host:2,S'), 'Subject: cur\n\n');
    writeFileSync(join(dir, 'cur', '.hidden'), 'no');
    writeFileSync(join(dir, 'tmp', '3.host'), 'partial');
    const msgs = await all(readMaildir(dir));
    expect(msgs.map((m) => m.raw.toString())).toEqual(['Subject: cur\n\n', 'Subject: new\n\n']);
    expect(await countMaildir(dir)).toBe(2);
  });
});

describe('originalDate()', () => {
  const now = new Date('2026-05-01T00:00:00Z');
  it('takes the Date header, else the recorded date, and passes over absurd ones', () => {
    expect(originalDate('2024-01-02T00:00:00Z', '2024-01-03T00:00:00Z', now).toISOString()).toBe(
      '2024-01-02T00:00:00.000Z',
    );
    expect(originalDate('1970-01-01T00:00:00Z', '2024-01-03T00:00:00Z', now).toISOString()).toBe(
      '2024-01-03T00:00:00.000Z',
    );
    expect(originalDate('2030-01-01T00:00:00Z', null, now).toISOString()).toBe(now.toISOString());
    expect(originalDate('not a date', null, now).toISOString()).toBe(now.toISOString());
  });
});
