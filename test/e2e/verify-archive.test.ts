import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/7-cases/db.js';
import { rewriteChainFrom, seedThreeCases } from '../support/chain-cases.js';
import { runCli } from '../support/cli.js';
import { migratedDb, tempDbPath } from '../support/db.js';
import { ingestHarness } from '../support/ingest.js';
import { queryDb } from '../support/service.js';

/**
 * `psirt verify --archive` (#12 Deliver 4: "the chain heads against the evidence manifests it
 * wrote") end to end: the built CLI writes a signed archive with `psirt evidence`, then checks
 * it, a forged database, and archives changed the ways an auditor's `sha256sum -c` does or does
 * not notice. Also `psirt evidence --out` into a folder that cannot be made.
 */

const dir = mkdtempSync(join(tmpdir(), 'psirt-verify-archive-'));
const source = tempDbPath();
const envFor = (path: string) => ({
  PSIRT_ENV: 'test',
  PSIRT_IMAP__PASSWORD: 'x',
  PSIRT_DATABASE__PATH: path,
});
const archive = join(dir, 'period.tar.gz');
let ids: string[] = [];
let fingerprint = '';

/** A copy of the database the archive was written from (each test tampers with its own). */
function copyOfDatabase(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'psirt-db-')), 'psirt.db');
  copyFileSync(source, path);
  return path;
}

/** Unpacks `archive`, lets `change` alter the folder, and packs it again as a new archive. */
function repacked(name: string, change: (root: string) => void): string {
  const into = mkdtempSync(join(dir, 'x-'));
  execFileSync('tar', ['-xzf', archive, '-C', into]);
  const [folder] = readdirSync(into);
  change(join(into, folder!));
  const out = join(dir, name);
  execFileSync('tar', ['-czf', out, '-C', into, folder!]);
  return out;
}

const verifyArchive = (file: string, db = source) => runCli(['verify', '--archive', file], envFor(db));

beforeAll(async () => {
  const { clock, ingest } = ingestHarness({ at: '2026-11-24T12:00:00Z' });
  const db = migratedDb(clock, source);
  ids = seedThreeCases(db, ingest);
  db.close();
  const r = await runCli(
    ['evidence', '--from', '2026-01-01', '--to', '2026-12-31', '--out', archive],
    envFor(source),
  );
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  fingerprint = /signed by ([0-9A-F]{40})/.exec(r.stdout)![1]!;
});

describe('psirt verify --archive', () => {
  it('exits 0 on the archive as written, saying what was checked and what matched', async () => {
    const head = queryDb<{ id: number }>(source, 'SELECT max(id) AS id FROM events')[0]!.id;
    const r = await verifyArchive(archive);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ok: \d+ events in 3 cases verify; 1 evidence archive heads match/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^ok: archive ${archive}: SHA256SUMS signed by ${fingerprint}; \\d+ files match it, none missing or extra; chain head event ${head} and the heads of 3 cases match the database$`,
      ),
    );
  });

  it('catches the forger who rehashed the chain and rewrote evidence_exports; plain verify cannot', async () => {
    const db = copyOfDatabase();
    const firstOfSecond = queryDb<{ id: number }>(
      db,
      'SELECT min(id) AS id FROM events WHERE case_id = ?',
      ids[1],
    )[0]!.id;
    const headOfSecond = queryDb<{ id: number }>(
      db,
      'SELECT max(id) AS id FROM events WHERE case_id = ?',
      ids[1],
    )[0]!.id;
    const handle = openDatabase(db);
    rewriteChainFrom(handle, firstOfSecond, '{"severity":"none"}');
    handle.close();

    // The database's own record was rewritten with the chain: the database alone verifies.
    const plain = await runCli(['verify'], envFor(db));
    expect(plain.stdout).toMatch(/^ok: .*; 1 evidence archive heads match the database's own record/);
    expect(plain.code).toBe(0);

    const r = await verifyArchive(archive, db);
    expect(r.stderr.split('\n')[0]).toBe(
      `psirt: archive ${archive}: case ${ids[1]}: event ${headOfSecond} hash differs from the signed archive`,
    );
    expect(r.stderr).toContain(`psirt: archive ${archive}: chain head: event `);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(1);
  });

  it('exits 1 naming an extra file that sha256sum -c lets pass', async () => {
    let root = '';
    const out = repacked('extra.tar.gz', (r) => {
      root = r;
      writeFileSync(join(r, 'notes.txt'), 'added after signing\n');
    });
    // What the auditor's check alone says: every listed file is fine.
    expect(() => execFileSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: root })).not.toThrow();
    const r = await verifyArchive(out);
    expect(r.stderr).toBe(`psirt: archive ${out}: notes.txt is not listed in SHA256SUMS (an extra file)\n`);
    expect(r.code).toBe(1);
  });

  it('exits 1 naming a changed file and a missing file', async () => {
    const changed = repacked('changed.tar.gz', (r) => writeFileSync(join(r, 'cases.csv'), 'id\n'));
    const a = await verifyArchive(changed);
    expect(a.stderr).toBe(`psirt: archive ${changed}: cases.csv does not match its sha256 in SHA256SUMS\n`);
    expect(a.code).toBe(1);

    const missing = repacked('missing.tar.gz', (r) => rmSync(join(r, 'index.md')));
    const b = await verifyArchive(missing);
    expect(b.stderr).toBe(`psirt: archive ${missing}: index.md is listed in SHA256SUMS but missing\n`);
    expect(b.code).toBe(1);
  });

  it('exits 1 when the manifest was changed to match a changed file (the signature no longer holds)', async () => {
    const out = repacked('resummed.tar.gz', (r) => {
      writeFileSync(join(r, 'cases.csv'), 'id\n');
      writeFileSync(join(r, 'SHA256SUMS'), execFileSync('sha256sum', ['cases.csv'], { cwd: r }));
    });
    const r = await verifyArchive(out);
    expect(r.stderr).toMatch(
      new RegExp(
        `^psirt: archive ${out}: SHA256SUMS\\.asc is not a valid signature of SHA256SUMS by a team key`,
      ),
    );
    expect(r.code).toBe(1);
  });
});

describe('psirt evidence --out', () => {
  it.each([
    ['whose parent is a file', (file: string) => join(file, 'a.tar.gz')],
    ['below a file', (file: string) => join(file, 'sub', 'a.tar.gz')],
  ])('into a folder %s: one line naming the file, exit 1, nothing written', async (_, outOf) => {
    const file = join(mkdtempSync(join(dir, 'f-')), 'plain-file');
    writeFileSync(file, 'not a folder\n');
    const out = outOf(file);
    const db = copyOfDatabase();
    const r = await runCli(
      ['evidence', '--from', '2026-01-01', '--to', '2026-12-31', '--out', out],
      envFor(db),
    );
    expect(r.stderr).toMatch(
      new RegExp(
        `^psirt: cannot write ${out}: (ENOTDIR: not a directory|EEXIST: file already exists)[^\\n]*\\n$`,
      ),
    );
    expect(r.stdout).toBe('');
    expect(r.code).toBe(1);
    expect(readdirSync(dirname(file))).toEqual(['plain-file']);
    expect(existsSync(out)).toBe(false);
    expect(queryDb<{ n: number }>(db, 'SELECT count(*) AS n FROM evidence_exports')[0]!.n).toBe(1);
  });
});
