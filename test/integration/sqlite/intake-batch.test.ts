import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Db } from '../../../src/7-cases/db.js';
import { getCheckpoint, storeBatch } from '../../../src/7-cases/intake-store.js';
import { loadConfig } from '../../../src/config/load.js';
import { fixedClock } from '../../../src/core/clock.js';
import { inFlightMarker } from '../../../src/core/inflight.js';
import type { FetchedRaw } from '../../../src/1-intake/imap-poller.js';
import { createMailerQueue, type MailerQueue } from '../../../src/jobs/queues.js';
import { migratedDb } from '../../support/db.js';
import { NOW, publicKey, readMail } from '../../support/mail-fixtures.js';
import { testPipeline } from '../../support/pipeline.js';
import { serviceVault } from '../../support/vault.js';

// Issue #16, deliverable 1 (intake half): new mail is stored, counted and applied a batch at a
// time, keeping DESIGN.md invariant 8 — one mail's failure is its own, and mail with an attempt
// behind it (a failure, a crash) is processed alone.
const stack = inject('stack');
const clock = fixedClock(NOW);
const queues: MailerQueue[] = [];
afterEach(async () => {
  for (const q of queues.splice(0)) {
    await q.queue.obliterate({ force: true });
    await q.close();
  }
});

/** The pipeline on the test profile, its mailer's enqueue calls recorded. */
async function pipelineWith(
  db: Db,
  opts: { beforeDecode?: (raw: Buffer) => void; maxAttempts?: number } = {},
) {
  const config = loadConfig({
    env: {
      PSIRT_ENV: 'test',
      PSIRT_IMAP__PASSWORD: 'x',
      PSIRT_INTAKE__MAX_ATTEMPTS: String(opts.maxAttempts ?? 3),
      PSIRT_ACKNOWLEDGMENT__MAX_PER_SENDER_PER_HOUR: '1000',
    },
  });
  const real = createMailerQueue({ ...config.redis, url: stack.redisUrl, prefix: `test-${randomUUID()}` });
  queues.push(real);
  const enqueued: (readonly number[])[] = [];
  const mailer: MailerQueue = {
    ...real,
    queue: real.queue,
    async enqueue(ids, o) {
      enqueued.push(ids);
      await real.enqueue(ids, o);
    },
  };
  const { pipeline } = await testPipeline(
    config,
    db,
    clock,
    mailer,
    opts.beforeDecode === undefined ? {} : { beforeDecode: opts.beforeDecode },
  );
  return { pipeline, enqueued };
}

let uid = 0;
function fetched(raw: Buffer, at?: number): FetchedRaw {
  if (at === undefined) uid += 1;
  return {
    mailbox: 'INBOX',
    uidvalidity: '1',
    uid: at ?? uid,
    size: raw.length,
    internalDate: null,
    raw,
    rawPath: null,
    sha256: createHash('sha256').update(raw).digest('hex'),
  };
}

/** A plain report of its own (distinct Message-ID and sender), tagged for the fault hooks. */
function report(tag: string, opts: { from?: string; headers?: string } = {}): { raw: Buffer; id: string } {
  const id = `${tag}-${randomUUID()}@reporter.test`;
  const from = opts.from ?? `${tag}-${randomUUID().slice(0, 8)}@reporter.test`;
  const raw = Buffer.from(
    `From: <${from}>\r\nTo: security@psirt.test\r\nSubject: Report ${tag}\r\nDate: Tue, 01 Dec 2026 11:00:00 +0000\r\n` +
      `Message-ID: <${id}>\r\nX-Tag: ${tag}\r\n${opts.headers ?? ''}\r\nThe parser overflows on ${tag}.\r\n`,
  );
  return { raw, id };
}

const byMessageId = (db: Db, id: string) =>
  db
    .prepare(
      'SELECT id, state, attempts, failure, last_error, case_id, verdict FROM messages WHERE message_id = ?',
    )
    .get(id) as
    | {
        id: number;
        state: string;
        attempts: number;
        failure: string | null;
        last_error: string | null;
        case_id: string | null;
        verdict: string | null;
      }
    | undefined;

const states = (db: Db) =>
  Object.fromEntries(
    (
      db.prepare('SELECT message_id, state FROM messages').all() as { message_id: string; state: string }[]
    ).map((r) => [r.message_id, r.state]),
  );

const outboxOf = (db: Db, rowId: number) =>
  (
    db.prepare("SELECT id FROM outbox WHERE payload ->> '$.messageRowId' = ?").all(rowId) as { id: number }[]
  ).map((r) => r.id);

/** An apply that throws for one mail: a stand-in for any failure while writing its case. */
const poison = (db: Db) =>
  db.exec(
    "CREATE TRIGGER poison BEFORE UPDATE OF state ON messages WHEN NEW.state = 'applied' AND NEW.message_id LIKE 'poison-%' BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
  );

describe('the intake pipeline on a batch of new mail (#16)', () => {
  it('stores and applies every mail of the batch, advances the checkpoint to its highest UID and enqueues all their outbox rows at once', async () => {
    const db = migratedDb(clock);
    const { pipeline, enqueued } = await pipelineWith(db);
    expect(pipeline.batchSize).toBe(50);
    const mails = ['a', 'b', 'c', 'd'].map((t) => report(t));
    const msgs = mails.map((m) => fetched(m.raw));
    const filed = await pipeline.handleBatch?.(msgs);
    const rows = mails.map((m) => byMessageId(db, m.id));
    expect(filed).toEqual(rows.map((r) => ({ target: 'processed', rowId: r?.id })));
    for (const r of rows) expect(r).toMatchObject({ state: 'applied', attempts: 1, failure: null });
    expect(new Set(rows.map((r) => r?.case_id)).size).toBe(4);
    expect(getCheckpoint(db, 'INBOX')).toEqual({ uidvalidity: '1', lastUid: msgs.at(-1)?.uid });
    // One enqueue call carries every outbox row of the batch (acknowledgments, staff notices).
    const all = rows.flatMap((r) => outboxOf(db, r?.id ?? 0));
    expect(all.length).toBeGreaterThanOrEqual(4);
    expect(enqueued).toHaveLength(1);
    expect([...(enqueued[0] ?? [])].sort((x, y) => x - y)).toEqual(all.sort((x, y) => x - y));
  });

  it('fails only the mail whose apply throws: the others are applied and filed, it is retried alone next round, then quarantined after max_attempts', async () => {
    const db = migratedDb(clock);
    poison(db);
    const { pipeline } = await pipelineWith(db);
    const good1 = report('good1');
    const bad = report('poison');
    const good2 = report('good2');
    const filed = await pipeline.handleBatch?.([good1, bad, good2].map((m) => fetched(m.raw)));
    const [g1, b, g2] = [good1, bad, good2].map((m) => byMessageId(db, m.id));
    expect(filed).toEqual([
      { target: 'processed', rowId: g1?.id },
      null,
      { target: 'processed', rowId: g2?.id },
    ]);
    expect(g1).toMatchObject({ state: 'applied', attempts: 1 });
    expect(g2).toMatchObject({ state: 'applied', attempts: 1 });
    expect(b).toMatchObject({ state: 'received', attempts: 1, case_id: null });
    expect(b?.last_error).toContain('poisoned');
    // Its rolled-back savepoint left nothing of it behind; the others' rows are there.
    expect(outboxOf(db, b?.id ?? 0)).toEqual([]);
    expect(outboxOf(db, g1?.id ?? 0).length).toBeGreaterThan(0);
    // The next rounds retry it alone, as today: attempt 2 fails, attempt 3 quarantines it.
    db.exec('DROP TRIGGER poison');
    db.exec(
      "CREATE TRIGGER poison BEFORE UPDATE OF state ON messages WHEN NEW.state = 'applied' AND NEW.failure IS NULL AND NEW.message_id LIKE 'poison-%' BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
    );
    await pipeline.resumePending();
    expect(byMessageId(db, bad.id)).toMatchObject({ state: 'received', attempts: 2 });
    await pipeline.resumePending();
    expect(byMessageId(db, bad.id)).toMatchObject({
      state: 'applied',
      attempts: 3,
      failure: 'processing-failed',
    });
    expect(pipeline.unfiled('1')).toContainEqual({
      rowId: b?.id,
      uid: expect.any(Number),
      target: 'quarantine',
    });
  });

  it('fails only the mail whose decoding throws; the others of its batch are applied', async () => {
    const db = migratedDb(clock);
    const { pipeline, enqueued } = await pipelineWith(db, {
      beforeDecode: (raw) => {
        if (raw.includes('X-Tag: boom')) throw new TypeError('boom in decode');
      },
    });
    const mails = [report('one'), report('boom'), report('two')];
    const filed = await pipeline.handleBatch?.(mails.map((m) => fetched(m.raw)));
    expect(filed?.map((f) => f?.target ?? null)).toEqual(['processed', null, 'processed']);
    expect(byMessageId(db, mails[1]?.id ?? '')).toMatchObject({
      state: 'received',
      attempts: 1,
      last_error: 'TypeError: boom in decode',
    });
    expect(enqueued).toHaveLength(1);
  });

  it('threads a reply to a report of the same batch as that case’s follow-up', async () => {
    const db = migratedDb(clock);
    const { pipeline } = await pipelineWith(db);
    const first = report('first');
    // Another sender (a colleague of the reporter): threaded by In-Reply-To, not by sender.
    const reply = report('reply', { headers: `In-Reply-To: <${first.id}>\r\n` });
    await pipeline.handleBatch?.([first, reply].map((m) => fetched(m.raw)));
    const a = byMessageId(db, first.id);
    const b = byMessageId(db, reply.id);
    expect(a?.case_id).not.toBeNull();
    expect(b).toMatchObject({ state: 'applied', case_id: a?.case_id });
  });

  it('decodes a mail with the key an earlier mail of the same sender in the batch pinned', async () => {
    const db = migratedDb(clock);
    const { pipeline } = await pipelineWith(db);
    // reporter1's key in an Autocrypt header (keydata: the key's base64, RFC Autocrypt level 1).
    const keydata = publicKey('reporter1')
      .split(/\r?\n/)
      .filter((l) => l !== '' && !l.startsWith('-----') && !l.includes(':') && !l.startsWith('='))
      .join('');
    const folded = (keydata.match(/.{1,72}/g) ?? []).join('\r\n ');
    const withKey = report('key', {
      from: 'reporter1@psirt.test',
      headers: `Autocrypt: addr=reporter1@psirt.test; keydata=\r\n ${folded}\r\n`,
    });
    const signed = readMail('report-signed-pgp-mime.eml');
    await pipeline.handleBatch?.([fetched(withKey.raw), fetched(signed)]);
    expect(byMessageId(db, withKey.id)?.state).toBe('applied');
    const verdict = JSON.parse(byMessageId(db, 'report-signed-pgp-mime@reporter.test')?.verdict ?? '{}') as {
      signature?: { state?: string };
    };
    expect(verdict.signature?.state).toBe('valid');
  });

  it('files a second copy of the same bytes in one batch as the first is filed', async () => {
    const db = migratedDb(clock);
    const { pipeline } = await pipelineWith(db);
    const m = report('twice');
    const filed = await pipeline.handleBatch?.([fetched(m.raw), fetched(m.raw)]);
    const row = byMessageId(db, m.id);
    expect(filed).toEqual([
      { target: 'processed', rowId: row?.id },
      { target: 'processed', rowId: row?.id },
    ]);
    expect(row).toMatchObject({ state: 'applied', attempts: 1 });
  });

  it('processes alone a known mail left received that comes again in a batch, before its batch-mates', async () => {
    const db = migratedDb(clock);
    let failOnce = true;
    const seen: { tag: string; states: Record<string, string> }[] = [];
    const { pipeline } = await pipelineWith(db, {
      beforeDecode: (raw) => {
        const tag = /X-Tag: (\w+)/.exec(raw.toString('latin1'))?.[1] ?? '?';
        seen.push({ tag, states: states(db) });
        if (tag === 'again' && failOnce) {
          failOnce = false;
          throw new Error('first attempt fails');
        }
      },
    });
    const again = report('again');
    const first = fetched(again.raw);
    await pipeline.handleBatch?.([first]);
    expect(byMessageId(db, again.id)).toMatchObject({ state: 'received', attempts: 1 });
    // Not filed, so fetched again with new mail behind it.
    const next = [report('next1'), report('next2')];
    seen.length = 0;
    await pipeline.handleBatch?.([fetched(again.raw, first.uid), ...next.map((m) => fetched(m.raw))]);
    expect(seen.map((s) => s.tag)).toEqual(['again', 'next1', 'next2']);
    // Its attempt ran and committed alone before the new mail was decoded …
    expect(seen[1]?.states[again.id]).toBe('applied');
    // … and the new mail went through as a batch (the second decoded before the first applied).
    expect(seen[2]?.states[next[0]?.id ?? '']).toBe('received');
    expect(byMessageId(db, again.id)).toMatchObject({ state: 'applied', attempts: 2 });
    for (const m of next) expect(byMessageId(db, m.id)).toMatchObject({ state: 'applied', attempts: 1 });
  });

  it('resumes the mail of a batch left received by a crash one at a time', async () => {
    const db = migratedDb(clock);
    const mails = ['r1', 'r2', 'r3'].map((t) => report(t));
    // The batch's first commit (stored, checkpoint, first attempts), then the machine died: no
    // in-work marker survived (a power cut), so each keeps the attempt the batch counted.
    storeBatch(
      db,
      clock,
      await serviceVault(db),
      mails.map((m) => ({ ...fetched(m.raw), messageId: m.id })),
    );
    for (const m of mails) expect(byMessageId(db, m.id)).toMatchObject({ state: 'received', attempts: 1 });
    const seen: Record<string, string>[] = [];
    const { pipeline, enqueued } = await pipelineWith(db, { beforeDecode: () => seen.push(states(db)) });
    await pipeline.resumePending();
    // Each decoded when those before it were applied (committed) and those after still waited.
    const ids = mails.map((m) => m.id);
    expect(seen).toEqual([
      { [ids[0] ?? '']: 'received', [ids[1] ?? '']: 'received', [ids[2] ?? '']: 'received' },
      { [ids[0] ?? '']: 'applied', [ids[1] ?? '']: 'received', [ids[2] ?? '']: 'received' },
      { [ids[0] ?? '']: 'applied', [ids[1] ?? '']: 'applied', [ids[2] ?? '']: 'received' },
    ]);
    for (const m of mails) expect(byMessageId(db, m.id)).toMatchObject({ state: 'applied', attempts: 2 });
    expect(enqueued).toHaveLength(3);
  });

  it('keeps beside the database which mail of the batch is in work, and removes the mark when the batch is done', async () => {
    const db = migratedDb(clock);
    const marker = `${db.name}-intake-batch`;
    const marks: unknown[] = [];
    const { pipeline } = await pipelineWith(db, {
      beforeDecode: () => marks.push(JSON.parse(readFileSync(marker, 'utf8'))),
    });
    const mails = ['m1', 'm2', 'm3'].map((t) => report(t));
    const msgs = mails.map((m) => fetched(m.raw));
    await pipeline.handleBatch?.(msgs);
    const ids = mails.map((m) => byMessageId(db, m.id)?.id);
    const rows = ids.map((id, i) => ({ id, uid: msgs[i]?.uid }));
    expect(marks).toEqual(ids.map((at) => ({ rows, at })));
    expect(existsSync(marker)).toBe(false);
  });

  it('after a crash during a batch, charges the attempt only to the mail that was in work; the others get theirs back and are retried alone', async () => {
    const db = migratedDb(clock);
    const mails = ['c1', 'c2', 'c3'].map((t) => report(t));
    const msgs = mails.map((m) => fetched(m.raw));
    // What a process killed while decoding the second mail leaves: the batch's first commit and
    // the marker naming that mail.
    const stored = storeBatch(
      db,
      clock,
      await serviceVault(db),
      mails.map((m, i) => ({ ...(msgs[i] as FetchedRaw), messageId: m.id })),
    );
    const rows = stored.map((o, i) => ({ id: o.rowId, uid: msgs[i]?.uid ?? 0 }));
    inFlightMarker(db.name).mark({ rows, at: rows[1]?.id ?? 0 });
    const { pipeline } = await pipelineWith(db);
    await pipeline.resumePending();
    expect(mails.map((m) => byMessageId(db, m.id)?.attempts)).toEqual([1, 2, 1]);
    for (const m of mails) expect(byMessageId(db, m.id)?.state).toBe('applied');
    expect(existsSync(`${db.name}-intake-batch`)).toBe(false);
  });

  it('charges every mail of the interrupted batch when the marker was cut short (safe: one attempt more)', async () => {
    const db = migratedDb(clock);
    const mails = ['p1', 'p2'].map((t) => report(t));
    storeBatch(
      db,
      clock,
      await serviceVault(db),
      mails.map((m) => ({ ...fetched(m.raw), messageId: m.id })),
    );
    writeFileSync(`${db.name}-intake-batch`, '{"rows":[{"id":1,');
    const { pipeline } = await pipelineWith(db);
    await pipeline.resumePending();
    expect(mails.map((m) => byMessageId(db, m.id)?.attempts)).toEqual([2, 2]);
  });

  it('uses no batches when intake.max_attempts is 1: a failure quarantines that mail alone', async () => {
    const db = migratedDb(clock);
    const { pipeline } = await pipelineWith(db, {
      maxAttempts: 1,
      beforeDecode: (raw) => {
        if (raw.includes('X-Tag: boom')) throw new Error('boom');
      },
    });
    expect(pipeline.batchSize).toBe(1);
    const mails = [report('fine'), report('boom'), report('also')];
    const filed = await pipeline.handleBatch?.(mails.map((m) => fetched(m.raw)));
    expect(filed?.map((f) => f?.target)).toEqual(['processed', 'quarantine', 'processed']);
    expect(byMessageId(db, mails[1]?.id ?? '')).toMatchObject({
      attempts: 1,
      failure: 'processing-failed',
    });
  });
});
