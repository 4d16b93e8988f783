import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { openDatabase } from '../../../src/7-cases/db.js';
import { loadConfig } from '../../../src/config/load.js';
import { systemClock } from '../../../src/core/clock.js';
import { createLogger } from '../../../src/core/log.js';
import { runImport } from '../../../workers/import.js';
import { migratedDb, tempDbPath } from '../../support/db.js';
import { stackEnv } from '../../support/stack.js';

/**
 * `psirt import --mbox` and `--maildir` in-process (#15; the e2e runs the CLI, whose child
 * process coverage does not see): history with original dates, nothing queued but the summary.
 */
const stack = inject('stack');

const mail = (i: number, tag: string, reply = false): string =>
  [
    `From: Researcher ${String(i)} <reporter${String((i % 3) + 1)}@psirt.test>`,
    'To: security@psirt.test',
    `Subject: ${reply ? 'Re: ' : ''}Old ${tag} report ${String(i)}`,
    `Date: ${new Date(Date.UTC(2024, 2, 1 + i)).toUTCString()}`,
    `Message-ID: <${reply ? 'reply-' : ''}r${String(i)}-${tag}@import.test>`,
    ...(reply ? [`In-Reply-To: <r${String(i)}-${tag}@import.test>`] : []),
    '',
    `Report ${String(i)}.`,
    'From the first line on it goes wrong.',
    '',
  ].join('\n');

function counts(dbPath: string) {
  const db = openDatabase(dbPath, { readonly: true });
  try {
    const n = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    return {
      cases: n('SELECT count(*) AS n FROM cases WHERE historical = 1'),
      messages: n('SELECT count(*) AS n FROM messages'),
      in2024: n("SELECT count(*) AS n FROM cases WHERE created_at LIKE '2024-%'"),
      outbox: n("SELECT count(*) AS n FROM outbox WHERE kind <> 'import-summary'"),
      summaries: n("SELECT count(*) AS n FROM outbox WHERE kind = 'import-summary'"),
    };
  } finally {
    db.close();
  }
}

describe('psirt import of an export, in-process (#15)', () => {
  const log = createLogger('silent');
  const setup = () => {
    const dbPath = tempDbPath();
    migratedDb(undefined, dbPath).close();
    return { dbPath, config: loadConfig({ env: stackEnv(stack, { PSIRT_DATABASE__PATH: dbPath }) }) };
  };

  it('an mbox: cases with their original dates, the reply threaded, one summary, a rerun imports nothing', async () => {
    const { dbPath, config } = setup();
    const file = join(mkdtempSync(join(tmpdir(), 'psirt-mbox-')), 'old.mbox');
    const parts = [0, 1, 2].map(
      (i) =>
        `From r@example.org Fri Mar  1 00:00:00 2024\n${mail(i, 'mbox').replace(/^From the/m, '>From the')}\n`,
    );
    parts.push(`From r@example.org Fri Mar  1 00:00:00 2024\n${mail(0, 'mbox', true)}\n`);
    writeFileSync(file, parts.join(''));
    await runImport(config, { mbox: file }, systemClock, log);
    expect(counts(dbPath)).toEqual({ cases: 3, messages: 4, in2024: 3, outbox: 0, summaries: 1 });
    // Run again: everything known, nothing new, no second summary.
    await runImport(config, { mbox: file }, systemClock, log);
    expect(counts(dbPath)).toEqual({ cases: 3, messages: 4, in2024: 3, outbox: 0, summaries: 1 });
  });

  it('a Maildir (cur/ and new/)', async () => {
    const { dbPath, config } = setup();
    const dir = mkdtempSync(join(tmpdir(), 'psirt-maildir-'));
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, 'cur', '1700000001.M1P1.host:2,S'), mail(1, 'md'));
    writeFileSync(join(dir, 'new', '1700000002.M1P1.host'), mail(2, 'md'));
    await runImport(config, { maildir: dir }, systemClock, log);
    expect(counts(dbPath)).toEqual({ cases: 2, messages: 2, in2024: 2, outbox: 0, summaries: 1 });
  });
});
