import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readMail } from '../../support/mail-fixtures.js';

const names = readdirSync(fileURLToPath(new URL('../../fixtures/mail/', import.meta.url))).filter((n) =>
  n.endsWith('.eml'),
);

describe('test/fixtures/mail', () => {
  it.each(names)('%s says why it exists in X-Fixture-Purpose (STYLE.md §4)', (name) => {
    const head = readMail(name).toString('latin1').split('\r\n\r\n', 1)[0] ?? '';
    expect(head).toMatch(/^X-Fixture-Purpose: \S.{10,}/m);
  });

  it.each(names)('%s uses CRLF line ends only, as mail over IMAP does', (name) => {
    expect(readMail(name).toString('latin1')).not.toMatch(/[^\r]\n/);
  });
});
