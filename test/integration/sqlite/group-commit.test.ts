import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../src/7-cases/db.js';
import { createGroupCommit, type GroupCommitOptions } from '../../../src/7-cases/group-commit.js';
import { tempDbPath } from '../../support/db.js';

const open: Db[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

/**
 * A real SQLite file (WAL, synchronous = FULL, as the service opens it) with a table to write,
 * a second connection to see what is committed, and the sizes of the commits made.
 */
function setup(options: GroupCommitOptions = {}) {
  const path = tempDbPath();
  const db = openDatabase(path);
  db.exec(`CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
           CREATE TABLE note (id INTEGER PRIMARY KEY,
             item_id INTEGER NOT NULL REFERENCES item (id) DEFERRABLE INITIALLY DEFERRED)`);
  const other = openDatabase(path, { readonly: true });
  open.push(db, other);
  const sizes: number[] = [];
  const writes = createGroupCommit(db, { ...options, onCommit: (n) => sizes.push(n) });
  const insert = (name: string) => () =>
    Number(db.prepare('INSERT INTO item (name) VALUES (?)').run(name).lastInsertRowid);
  const committed = () =>
    (other.prepare('SELECT name FROM item ORDER BY id').all() as { name: string }[]).map((r) => r.name);
  return { db, writes, sizes, insert, committed };
}

/** Whether `p` has settled once the microtasks queued now have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await Promise.resolve();
  await Promise.resolve();
  return done;
}

describe('createGroupCommit() on a real SQLite file (#16)', () => {
  it('commits the writes queued in one tick in one transaction and gives each its result', async () => {
    const { writes, sizes, insert, committed } = setup();
    const results = await Promise.all([
      writes.run(insert('a')),
      writes.run(insert('b')),
      writes.run(insert('c')),
    ]);
    expect(results).toEqual([1, 2, 3]);
    expect(sizes).toEqual([1 + 2]);
    expect(writes.stats()).toEqual({ commits: 1, functions: 3 });
    expect(committed()).toEqual(['a', 'b', 'c']);
  });

  it('commits writes of different ticks separately', async () => {
    const { writes, sizes, insert } = setup();
    await writes.run(insert('a'));
    await writes.run(insert('b'));
    expect(sizes).toEqual([1, 1]);
  });

  it('resolves nothing before the COMMIT: a write still waiting is neither settled nor visible', async () => {
    const { writes, insert, committed } = setup();
    const a = writes.run(insert('a'));
    expect(await settled(a)).toBe(false);
    expect(committed()).toEqual([]);
    await a;
    expect(committed()).toEqual(['a']);
  });

  it('rejects every write of a batch whose COMMIT fails, and keeps none of them', async () => {
    const { db, writes, insert, committed } = setup();
    // A deferred foreign key is checked at COMMIT only: the COMMIT itself fails.
    const orphan = writes.run(() => db.prepare('INSERT INTO note (item_id) VALUES (999)').run().changes);
    const good = writes.run(insert('a'));
    await expect(orphan).rejects.toThrow(/FOREIGN KEY/);
    await expect(good).rejects.toThrow(/FOREIGN KEY/);
    expect(committed()).toEqual([]);
    expect(writes.stats().commits).toBe(0);
    expect(db.inTransaction).toBe(false);
    // The committer goes on with the next batch.
    await writes.run(insert('b'));
    expect(committed()).toEqual(['b']);
  });

  it('rolls back only the write that threw and rejects only its promise', async () => {
    const { db, writes, sizes, insert, committed } = setup();
    const a = writes.run(insert('a'));
    const bad = writes.run(() => {
      insert('half-done')();
      db.prepare('INSERT INTO item (name) VALUES (?)').run('a'); // UNIQUE: throws
    });
    const c = writes.run(insert('c'));
    const thrown = new Error('refused');
    const d = writes.run(() => {
      throw thrown;
    });
    await expect(bad).rejects.toThrow(/UNIQUE/);
    await expect(d).rejects.toBe(thrown);
    expect(await a).toBe(1);
    expect(await c).toBeGreaterThan(1);
    expect(sizes).toEqual([4]);
    expect(committed()).toEqual(['a', 'c']);
  });

  it('refuses an async function (a write must be synchronous) and keeps its writes out', async () => {
    const { writes, insert, committed } = setup();
    const a = writes.run(insert('a'));
    const asyncWrite = writes.run(async () => {
      insert('async')();
      await Promise.resolve();
    });
    await expect(asyncWrite).rejects.toThrow(/promise/);
    await a;
    expect(committed()).toEqual(['a']);
  });

  it('flushes early once maxBatch writes wait', async () => {
    const { writes, sizes, insert, committed } = setup({ maxBatch: 2 });
    const all = ['a', 'b', 'c', 'd', 'e'].map((n) => writes.run(insert(n)));
    // The first two committed at once, without waiting for the next turn of the event loop.
    expect(committed()).toEqual(['a', 'b', 'c', 'd']);
    await Promise.all(all);
    expect(sizes).toEqual([2, 2, 1]);
    expect(committed()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('never commits inside a batch: a write queued by a running write waits for the next commit', async () => {
    const { writes, sizes, insert, committed } = setup({ maxBatch: 1 });
    const inner: Promise<number>[] = [];
    await writes.run(() => {
      inner.push(writes.run(insert('inner')));
      return insert('outer')();
    });
    expect(await Promise.all(inner)).toEqual([2]);
    expect(sizes).toEqual([1, 1]);
    expect(committed()).toEqual(['outer', 'inner']);
  });

  it('runs what is queued at once on flush()', async () => {
    const { writes, insert, committed } = setup();
    const a = writes.run(insert('a'));
    writes.flush();
    expect(committed()).toEqual(['a']);
    expect(await a).toBe(1);
  });
});
