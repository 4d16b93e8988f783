import { workerStack } from '../support/worker-stack.js';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/7-cases/db.js';
import { verifyCaseChains } from '../../src/7-cases/events.js';
import { configDigest } from '../../src/config/digest.js';
import { loadConfig } from '../../src/config/load.js';
import { alterEventData, caseEvents, deleteEventsFrom, seedThreeCases } from '../support/chain-cases.js';
import { runCli } from '../support/cli.js';
import { migratedDb, tempDbPath } from '../support/db.js';
import { ingestHarness } from '../support/ingest.js';
import { queryDb, startService } from '../support/service.js';
import { stackEnv } from '../support/stack.js';

const stack = workerStack();

/** A database holding three cases made by the real classify + apply path; closed. */
function databaseWithCases(): { path: string; ids: string[]; env: Record<string, string> } {
  const { clock, ingest } = ingestHarness();
  const path = tempDbPath();
  const db = migratedDb(clock, path);
  const ids = seedThreeCases(db, ingest);
  db.close();
  return { path, ids, env: stackEnv(stack, { PSIRT_DATABASE__PATH: path }) };
}

/** Opens the file writable for `change`, as someone with access to it would. */
function tamper(path: string, change: (db: ReturnType<typeof openDatabase>) => void): void {
  const db = openDatabase(path);
  try {
    change(db);
  } finally {
    db.close();
  }
}

const eventCount = (path: string) => queryDb<{ n: number }>(path, 'SELECT count(*) AS n FROM events')[0]!.n;

describe('psirt verify', () => {
  it('exits 0 on an untouched database and 1 naming the case after one event row is altered', async () => {
    const { path, ids, env } = databaseWithCases();
    const before = await runCli(['verify'], env);
    expect(before.stderr).toBe('');
    expect(before.stdout.trim()).toBe(
      `ok: ${eventCount(path)} events in 3 cases verify; no evidence archive written yet (psirt evidence)`,
    );
    expect(before.code).toBe(0);

    const target = queryDb<{ id: number }>(
      path,
      'SELECT id FROM events WHERE case_id = ? ORDER BY id LIMIT 1 OFFSET 1',
      ids[1],
    )[0]!.id;
    tamper(path, (db) => alterEventData(db, target, '{"severity":"none"}'));
    const after = await runCli(['verify'], env);
    expect(after.stderr.split('\n')[0]).toBe(
      `psirt: case ${ids[1]}: event ${target} content does not match its hash`,
    );
    expect(after.stdout).toBe('');
    expect(after.code).toBe(1);
  });

  it('exits 1 naming a case that has no event left: the newest events removed, no gap left behind', async () => {
    const { path, ids, env } = databaseWithCases();
    const first = queryDb<{ id: number }>(
      path,
      'SELECT min(id) AS id FROM events WHERE case_id = ?',
      ids[2],
    )[0]!.id;
    // The last case's events and everything after them: the chain that is left links up.
    tamper(path, (db) => deleteEventsFrom(db, first));
    expect(queryDb(path, 'SELECT id FROM cases ORDER BY id')).toEqual(ids.map((id) => ({ id })));
    const r = await runCli(['verify'], env);
    expect(r.stderr).toBe(`psirt: case ${ids[2]}: no event of this case is in the chain\n`);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(1);
    const json = await runCli(['verify', '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, casesWithoutEvents: [ids[2]] });
    expect(json.code).toBe(1);
  });

  it('exits 1 when an evidence archive head no longer matches the event it recorded', async () => {
    const { path, env } = databaseWithCases();
    tamper(path, (db) => {
      const head = verifyCaseChains(db).head!;
      db.prepare(
        `INSERT INTO evidence_exports (written_at, period_from, period_to, head_event_id, head_hash,
           manifest_sha256, archive) VALUES ('2026-11-30T00:00:00.000Z', '2026-01-01', '2026-11-30', ?, ?, ?, 'e.tar')`,
      ).run(head.eventId, head.hash, 'b'.repeat(64));
    });
    const matching = await runCli(['verify'], env);
    expect(matching.stdout).toContain('; 1 evidence archive heads match');
    expect(matching.code).toBe(0);

    // Another archive claims a head that the chain does not hold (the chain was rewritten since).
    tamper(path, (db) => {
      const head = verifyCaseChains(db).head!;
      db.prepare(
        `INSERT INTO evidence_exports (written_at, period_from, period_to, head_event_id, head_hash,
           manifest_sha256, archive) VALUES ('2026-12-01T00:00:00.000Z', '2026-01-01', '2026-12-01', ?, ?, ?, 'f.tar')`,
      ).run(head.eventId, 'c'.repeat(64), 'd'.repeat(64));
    });
    const r = await runCli(['verify'], env);
    expect(r.stderr).toMatch(
      /^psirt: evidence archive #2 \(f\.tar, written 2026-12-01T00:00:00\.000Z\): its head event \d+ has hash/,
    );
    expect(r.code).toBe(1);
  });

  it('--json prints the verdict of every case', async () => {
    const { path, ids, env } = databaseWithCases();
    const last = queryDb<{ id: number }>(
      path,
      'SELECT max(id) AS id FROM events WHERE case_id = ?',
      ids[2],
    )[0]!.id;
    tamper(path, (db) => alterEventData(db, last, '{"x":1}'));
    const r = await runCli(['verify', '--json'], env);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as {
      ok: boolean;
      verdicts: { caseId: string; broken: { eventId: number } | null }[];
      firstBroken: { caseId: string; eventId: number };
    };
    expect(out.ok).toBe(false);
    expect(out.firstBroken).toMatchObject({ caseId: ids[2], eventId: last });
    expect(out.verdicts.map((v) => [v.caseId, v.broken?.eventId ?? null])).toEqual([
      [ids[0], null],
      [ids[1], null],
      [ids[2], last],
    ]);
  });

  it('says what to run when there is no database', async () => {
    const path = tempDbPath();
    const r = await runCli(['verify'], stackEnv(stack, { PSIRT_DATABASE__PATH: path }));
    expect(r.stderr).toContain(`no database at ${path}: run "psirt migrate"`);
    expect(r.code).toBe(1);
  });
});

describe('psirt cases show', () => {
  it("shows each event's hash: the first 16 hex digits in text, in full with the previous hash in --json", async () => {
    const { path, ids, env } = databaseWithCases();
    const db = openDatabase(path, { readonly: true });
    const events = caseEvents(db, ids[0]!);
    db.close();
    const text = await runCli(['cases', 'show', ids[0]!], env);
    expect(text.code).toBe(0);
    for (const e of events)
      expect(text.stdout).toMatch(new RegExp(`^  #${e.id} ${e.hash.slice(0, 16)}  ${e.at}  ${e.type}`, 'm'));
    const json = await runCli(['cases', 'show', ids[0]!, '--json'], env);
    const detail = JSON.parse(json.stdout) as { timeline: { id: number; hash: string; prev_hash: string }[] };
    expect(detail.timeline.map((e) => [e.id, e.prev_hash, e.hash])).toEqual(
      events.map((e) => [e.id, e.prev_hash, e.hash]),
    );
  });
});

describe('psirt start records the procedure history', () => {
  it('writes a procedure_starts row with the configuration digest, the roles and the version', async () => {
    const service = await startService(stack, {}, tempDbPath(), ['mailer', 'escalation']);
    try {
      const starts = queryDb<{ config_digest: string; roles: string; version: string }>(
        service.dbPath,
        'SELECT config_digest, roles, version FROM procedure_starts',
      );
      const config = loadConfig({ env: service.env });
      expect(starts).toEqual([
        {
          config_digest: configDigest(config),
          roles: '["mailer","escalation"]',
          version: expect.stringMatching(/^\d+\.\d+\.\d+/),
        },
      ]);
      expect(queryDb(service.dbPath, 'SELECT config_digest FROM procedure_versions')).toEqual([
        { config_digest: configDigest(config) },
      ]);
      expect(service.out.text).toContain('"event":"procedure.recorded"');
      expect(service.out.text).not.toContain(stack.password);
    } finally {
      expect(await service.stop()).toBe(0);
    }
  });
});
