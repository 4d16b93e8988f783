import { createHash, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Db } from '../../../src/7-cases/db.js';
import { beginAttempt } from '../../../src/7-cases/intake-store.js';
import { loadConfig } from '../../../src/config/load.js';
import { fixedClock } from '../../../src/core/clock.js';
import type { FetchedRaw } from '../../../src/1-intake/imap-poller.js';
import { createMailerQueue, type MailerQueue } from '../../../src/jobs/queues.js';
import { testPipeline } from '../../support/pipeline.js';
import { migratedDb } from '../../support/db.js';
import { NOW, readMail } from '../../support/mail-fixtures.js';

// #10 item 4, DESIGN.md invariant 8: attempts are counted durably before processing, a throw is
// the message's failure, and after intake.max_attempts the message is quarantined with staff told.
const stack = inject('stack');
const clock = fixedClock(NOW);
const queues: MailerQueue[] = [];
afterEach(async () => {
  for (const q of queues.splice(0)) {
    await q.queue.obliterate({ force: true });
    await q.close();
  }
});

async function pipelineWith(db: Db, beforeDecode?: (raw: Buffer) => void) {
  const config = loadConfig({
    env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'x', PSIRT_INTAKE__MAX_ATTEMPTS: '3' },
  });
  const mailer = createMailerQueue({ ...config.redis, url: stack.redisUrl, prefix: `test-${randomUUID()}` });
  queues.push(mailer);
  return (await testPipeline(config, db, clock, mailer, beforeDecode === undefined ? {} : { beforeDecode }))
    .pipeline;
}

let uid = 0;
function fetched(raw: Buffer): FetchedRaw {
  uid += 1;
  return {
    mailbox: 'INBOX',
    uidvalidity: '1',
    uid,
    size: raw.length,
    internalDate: null,
    raw,
    rawPath: null,
    sha256: createHash('sha256').update(raw).digest('hex'),
  };
}

const message = (db: Db, id: number) =>
  db.prepare('SELECT state, attempts, failure, last_error FROM messages WHERE id = ?').get(id) as {
    state: string;
    attempts: number;
    failure: string | null;
    last_error: string | null;
  };

const staffNotices = (db: Db) =>
  (db.prepare("SELECT recipients FROM outbox WHERE kind = 'staff-notification'").all() as object[]).length;

describe('the intake pipeline on a message whose processing fails (#10)', () => {
  it('leaves a message that throws for the next round, then quarantines it on the last attempt with the error', async () => {
    const db = migratedDb(clock);
    const pipeline = await pipelineWith(db, () => {
      throw new TypeError('boom in decode');
    });
    expect(await pipeline.handle(fetched(readMail('report-plain.eml')))).toBeNull();
    const id = (db.prepare('SELECT id FROM messages').get() as { id: number }).id;
    expect(message(db, id)).toMatchObject({ state: 'received', attempts: 1, failure: null });
    await pipeline.resumePending();
    expect(message(db, id)).toMatchObject({ state: 'received', attempts: 2 });
    await pipeline.resumePending();
    expect(message(db, id)).toEqual({
      state: 'applied',
      attempts: 3,
      failure: 'processing-failed',
      last_error: 'TypeError: boom in decode',
    });
    expect(pipeline.unfiled('1')).toEqual([{ rowId: id, uid, target: 'quarantine' }]);
    expect(staffNotices(db)).toBeGreaterThan(0);
  });

  it('quarantines without decoding again a message whose earlier attempts ended the process', async () => {
    const db = migratedDb(clock);
    let decodes = 0;
    const crashing = await pipelineWith(db, () => {
      decodes += 1;
      throw new Error('stand-in for a crash: the test stops here');
    });
    await crashing.handle(fetched(readMail('report-plain.eml')));
    const id = (db.prepare('SELECT id FROM messages').get() as { id: number }).id;
    // Two more starts that died during the attempt: counted, nothing recorded after.
    beginAttempt(db, id);
    beginAttempt(db, id);
    db.prepare('UPDATE messages SET last_error = NULL WHERE id = ?').run(id);
    const restarted = await pipelineWith(db, () => {
      decodes += 1;
    });
    await restarted.resumePending();
    expect(decodes).toBe(1);
    expect(message(db, id)).toMatchObject({ state: 'applied', attempts: 4, failure: 'processing-failed' });
    expect(message(db, id).last_error).toBe(
      'the process stopped during processing (crash or kill), 3 time(s)',
    );
    expect(staffNotices(db)).toBeGreaterThan(0);
  });

  it('keeps the subject of a mail it could not process out of every clear column: it may have come encrypted (#10 review)', async () => {
    const db = migratedDb(clock);
    const pipeline = await pipelineWith(db, () => {
      throw new Error('always');
    });
    const raw = Buffer.from(
      readMail('report-plain.eml')
        .toString('latin1')
        .replace(/^Subject:.*$/im, 'Subject: CANARY-q9 the real subject'),
      'latin1',
    );
    expect(raw.includes('CANARY-q9')).toBe(true);
    await pipeline.handle(fetched(raw));
    await pipeline.resumePending();
    await pipeline.resumePending();
    const dump = JSON.stringify([
      db.prepare('SELECT * FROM cases').all(),
      db.prepare('SELECT * FROM outbox').all(),
      db.prepare('SELECT * FROM events').all(),
    ]);
    expect(dump).toContain('processing-failed');
    expect(dump).not.toContain('CANARY-q9');
  });

  it('goes on with the next message of the mailbox after one that fails', async () => {
    const db = migratedDb(clock);
    const pipeline = await pipelineWith(db, (raw) => {
      if (raw.includes('X-Bad: yes')) throw new Error('bad one');
    });
    const bad = Buffer.concat([Buffer.from('X-Bad: yes\r\n'), readMail('report-plain.eml')]);
    expect(await pipeline.handle(fetched(bad))).toBeNull();
    expect(await pipeline.handle(fetched(readMail('report-latin1.eml')))).toMatchObject({
      target: 'processed',
    });
  });
});
