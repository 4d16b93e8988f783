import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  SPOOL_OVER_BYTES,
  startImapIntake,
  uidSet,
  type IntakeHandlers,
} from '../../../src/1-intake/imap-poller.js';
import type { Db } from '../../../src/7-cases/db.js';
import { getCheckpoint } from '../../../src/7-cases/intake-store.js';
import { loadConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { fixedClock } from '../../../src/core/clock.js';
import { createLogger } from '../../../src/core/log.js';
import { createMailerQueue, type MailerQueue } from '../../../src/jobs/queues.js';
import { migratedDb } from '../../support/db.js';
import { NOW } from '../../support/mail-fixtures.js';
import { openMailbox } from '../../support/mailbox.js';
import { stackEnv } from '../../support/stack.js';
import { testPipeline } from '../../support/pipeline.js';

// Issue #16: the poller fetches new mail up to SPOOL_OVER_BYTES in batches of intake.batch_size
// (one UID FETCH each), streams larger mail alone as before, and files each message only after
// its batch committed — against the stack's Dovecot, in folders of this test only.
const stack = inject('stack');
const clock = fixedClock(NOW);
const queues: MailerQueue[] = [];
afterEach(async () => {
  for (const q of queues.splice(0)) {
    await q.queue.obliterate({ force: true });
    await q.close();
  }
});

function report(tag: string, body = `The parser overflows on ${tag}.`): { raw: Buffer; id: string } {
  const id = `${tag}-${randomUUID()}@reporter.test`;
  const raw = Buffer.from(
    `From: <${tag}-${randomUUID().slice(0, 8)}@reporter.test>\r\nTo: security@psirt.test\r\nSubject: Report ${tag}\r\n` +
      `Date: Tue, 01 Dec 2026 11:00:00 +0000\r\nMessage-ID: <${id}>\r\n\r\n${body}\r\n`,
  );
  return { raw, id };
}

/** Folders of this test, the config pointing at them, and the mail appended to the first. */
async function mailboxWith(mails: Buffer[], env: Record<string, string> = {}): Promise<Config> {
  const tag = `ib-${randomUUID().slice(0, 8)}`;
  const folders = { mailbox: `${tag}-in`, processed: `${tag}-done`, quarantine: `${tag}-quar` };
  const setup = await openMailbox(stack, 'security');
  try {
    for (const f of Object.values(folders)) await setup.mailboxCreate(f);
    for (const raw of mails) await setup.append(folders.mailbox, raw);
  } finally {
    await setup.logout();
  }
  return loadConfig({
    env: stackEnv(stack, {
      PSIRT_IMAP__MAILBOX: folders.mailbox,
      PSIRT_IMAP__PROCESSED_FOLDER: folders.processed,
      PSIRT_IMAP__QUARANTINE_FOLDER: folders.quarantine,
      PSIRT_ACKNOWLEDGMENT__MAX_PER_SENDER_PER_HOUR: '1000',
      ...env,
    }),
  });
}

async function pipelineFor(config: Config, db: Db) {
  const mailer = createMailerQueue({ ...config.redis, prefix: `test-${randomUUID()}` });
  queues.push(mailer);
  const { pipeline, vault } = await testPipeline(config, db, clock, mailer);
  return { pipeline, vault };
}

/** Message-IDs (without <>) in a folder. */
async function folderIds(folder: string): Promise<string[]> {
  const c = await openMailbox(stack, 'security');
  try {
    const lock = await c.getMailboxLock(folder);
    try {
      const box = c.mailbox;
      if (box === false || box.exists === 0) return [];
      const all = await c.fetchAll('1:*', { envelope: true }, { uid: true });
      return all.map((m) => (m.envelope?.messageId ?? '').replace(/^<|>$/g, '')).sort();
    } finally {
      lock.release();
    }
  } finally {
    await c.logout();
  }
}

const row = (db: Db, id: string) =>
  db
    .prepare('SELECT uid, state, attempts, failure, filed_to, raw_path FROM messages WHERE message_id = ?')
    .get(id) as
    | {
        uid: number;
        state: string;
        attempts: number;
        failure: string | null;
        filed_to: string | null;
        raw_path: string | null;
      }
    | undefined;

describe('the IMAP intake in batches (#16)', () => {
  it('fetches small mail in batches of intake.batch_size, larger mail alone, and files all of it after commit', async () => {
    const small = (n: number, from: number) => Array.from({ length: n }, (_, i) => report(`s${from + i}`));
    const large = report('large', 'A long proof of concept line.\r\n'.repeat(40_000));
    expect(large.raw.length).toBeGreaterThan(SPOOL_OVER_BYTES);
    const mails = [...small(4, 1), large, ...small(3, 5)];
    const config = await mailboxWith(
      mails.map((m) => m.raw),
      { PSIRT_INTAKE__BATCH_SIZE: '3' },
    );
    const db = migratedDb(clock);
    const { pipeline, vault } = await pipelineFor(config, db);
    const calls: string[] = [];
    const handlers: IntakeHandlers = {
      ...pipeline,
      handle: (m) => {
        calls.push(`one ${m.uid}`);
        return pipeline.handle(m);
      },
      handleBatch: (ms) => {
        calls.push(`batch ${ms.map((m) => m.uid).join(',')}`);
        return pipeline.handleBatch?.(ms) ?? Promise.resolve([]);
      },
    };
    const intake = startImapIntake(config.imap, handlers, {
      spoolDir: mkdtempSync(join(tmpdir(), 'psirt-spool-')),
      vault,
      log: createLogger('silent'),
    });
    try {
      await intake.synced();
    } finally {
      await intake.stop();
    }
    expect(calls).toEqual(['batch 1,2,3', 'batch 4', 'one 5', 'batch 6,7,8']);
    for (const m of mails) expect(row(db, m.id)).toMatchObject({ state: 'applied', filed_to: 'processed' });
    expect(row(db, large.id)?.raw_path).not.toBeNull();
    expect(getCheckpoint(db, config.imap.mailbox)).toMatchObject({ lastUid: 8 });
    expect(await folderIds(config.imap.mailbox)).toEqual([]);
    expect(await folderIds(config.imap.processed_folder)).toEqual(mails.map((m) => m.id).sort());
  }, 60_000);

  it('streams mail over imap.max_message_bytes alone even when that limit is below the batch limit', async () => {
    const over = report('over', 'x'.repeat(70).concat('\r\n').repeat(100));
    const mails = [report('before'), over, report('after')];
    const config = await mailboxWith(
      mails.map((m) => m.raw),
      { PSIRT_IMAP__MAX_MESSAGE_BYTES: '4096' },
    );
    expect(over.raw.length).toBeGreaterThan(config.imap.max_message_bytes);
    const db = migratedDb(clock);
    const { pipeline, vault } = await pipelineFor(config, db);
    const calls: string[] = [];
    const intake = startImapIntake(
      config.imap,
      {
        ...pipeline,
        handle: (m) => {
          calls.push(`one ${m.uid} ${m.raw === null ? 'spooled' : 'in memory'}`);
          return pipeline.handle(m);
        },
        handleBatch: (ms) => {
          calls.push(`batch ${ms.map((m) => m.uid).join(',')}`);
          return pipeline.handleBatch?.(ms) ?? Promise.resolve([]);
        },
      },
      { spoolDir: mkdtempSync(join(tmpdir(), 'psirt-spool-')), vault, log: createLogger('silent') },
    );
    try {
      await intake.synced();
    } finally {
      await intake.stop();
    }
    expect(calls).toEqual(['batch 1', 'one 2 spooled', 'batch 3']);
    expect(row(db, over.id)).toMatchObject({ state: 'applied', filed_to: 'quarantine' });
  }, 60_000);

  it('files the rest of a batch in which one mail cannot be applied; that one stays in the INBOX and is quarantined after intake.max_attempts', async () => {
    const bad = { ...report('x'), id: `poison-${randomUUID()}@reporter.test` };
    bad.raw = Buffer.from(
      bad.raw.toString('latin1').replace(/^Message-ID: <[^>]*>/m, `Message-ID: <${bad.id}>`),
    );
    const good = [report('g1'), report('g2')];
    const config = await mailboxWith(
      [good[0]?.raw, bad.raw, good[1]?.raw].filter((r) => r !== undefined),
      {
        PSIRT_INTAKE__MAX_ATTEMPTS: '3',
      },
    );
    const db = migratedDb(clock);
    // A stand-in for any failure while applying: this mail's case cannot be written (until it
    // is quarantined, which writes no ordinary case).
    db.exec(
      "CREATE TRIGGER poison BEFORE UPDATE OF state ON messages WHEN NEW.state = 'applied' AND NEW.failure IS NULL AND NEW.message_id LIKE 'poison-%' BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
    );
    const { pipeline, vault } = await pipelineFor(config, db);
    const batches: number[][] = [];
    const intake = startImapIntake(
      config.imap,
      {
        ...pipeline,
        handleBatch: (ms) => {
          batches.push(ms.map((m) => m.uid));
          return pipeline.handleBatch?.(ms) ?? Promise.resolve([]);
        },
      },
      { spoolDir: mkdtempSync(join(tmpdir(), 'psirt-spool-')), vault, log: createLogger('silent') },
    );
    try {
      await intake.synced();
      expect(batches).toEqual([[1, 2, 3]]);
      for (const g of good) expect(row(db, g.id)).toMatchObject({ state: 'applied', filed_to: 'processed' });
      expect(row(db, bad.id)).toMatchObject({ state: 'received', attempts: 1, filed_to: null });
      expect(await folderIds(config.imap.mailbox)).toEqual([bad.id]);
      await intake.synced();
      await intake.synced();
    } finally {
      await intake.stop();
    }
    // Retried alone (resumePending), never in a batch again.
    expect(batches).toEqual([[1, 2, 3]]);
    expect(row(db, bad.id)).toMatchObject({
      state: 'applied',
      attempts: 3,
      failure: 'processing-failed',
      filed_to: 'quarantine',
    });
    expect(await folderIds(config.imap.quarantine_folder)).toEqual([bad.id]);
    expect(await folderIds(config.imap.processed_folder)).toEqual(good.map((g) => g.id).sort());
  }, 60_000);
});

describe('uidSet()', () => {
  it('writes consecutive UIDs as ranges', () => {
    expect(uidSet([1, 2, 3, 5, 7, 8])).toBe('1:3,5,7:8');
    expect(uidSet([4])).toBe('4');
    expect(uidSet([])).toBe('');
  });
});
