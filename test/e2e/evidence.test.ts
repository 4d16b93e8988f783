import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DecodedMessage } from '../../src/2-decode/types.js';
import type { Db } from '../../src/7-cases/db.js';
import { openDatabase } from '../../src/7-cases/db.js';
import { hashEvent, type EventRow } from '../../src/7-cases/events.js';
import { loadOutbox, markSent } from '../../src/7-cases/outbox-store.js';
import { loadConfig } from '../../src/config/load.js';
import { createCalendar } from '../../src/calendar/calendar.js';
import { fixedClock } from '../../src/core/clock.js';
import { recordProcedureStart } from '../../src/7-cases/procedure-store.js';
import { procedureFacts } from '../../src/roles/procedure.js';
import { buildDecoded, buildSignedStaffMail } from '../support/builders.js';
import { withChromium } from '../support/chromium.js';
import { runCli } from '../support/cli.js';
import { migratedDb, tempDbPath } from '../support/db.js';
import { withGpg } from '../support/gpg.js';
import { ingestHarness } from '../support/ingest.js';
import { serviceVault } from '../support/vault.js';
import { teamKey } from '../support/mail-fixtures.js';

/**
 * `psirt evidence` end to end (issue #12 acceptance): a database whose cases were driven through
 * the lifecycle by signed staff commands (the real classify → authenticate → apply path), the
 * built CLI writing the archive, and the archive checked the way an auditor would: sha256sum -c,
 * gpg --verify, the report in headless Chromium, and no canary anywhere.
 */

const CANARY_SUBJECT = `CANARY-SUBJ-${randomUUID()}`;
const CANARY_BODY = `CANARY-BODY-${randomUUID()}`;
const CVSS = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';

// Business days in Berlin, Mon–Fri, German public holidays: lateness is counted in them.
const CONFIG_TOML = `
[calendar]
time_zone = "Europe/Berlin"
working_days = ["mon", "tue", "wed", "thu", "fri"]
holiday_country = "DE"

[deadlines.acknowledge]
amount = 3
unit = "business_days"

[deadlines.triage]
amount = 3
unit = "business_days"

[deadlines.verify]
amount = 5
unit = "business_days"

[deadlines.fix]
unit = "calendar_days"
critical = 7
high = 30
medium = 60
low = 90

[deadlines.disclose]
amount = 90
unit = "calendar_days"
`;

const dir = mkdtempSync(join(tmpdir(), 'psirt-evidence-e2e-'));
const configFile = join(dir, 'evidence.toml');
writeFileSync(configFile, CONFIG_TOML);
const dbPath = tempDbPath();
const env = { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'x', PSIRT_DATABASE__PATH: dbPath };
const config = loadConfig({ file: configFile, env });
const { clock, ingest, useVault } = ingestHarness({ at: '2026-11-02T09:00:00Z', config });
let n = 0;

function command(local: string, caseId: string, commands: string, text = 'Internal note.'): DecodedMessage {
  n += 1;
  const member = config.staff.find((s) => s.address === `${local}@psirt.test`)!;
  return buildSignedStaffMail(
    member,
    `Re: [${caseId}] report ${commands}`,
    { from: { address: member.address, name: local }, text },
    {
      messageId: `staff-${n}@psirt.test`,
      signedAt: clock.now().toISOString(),
      digest: `${n}`.padStart(64, '0'),
    },
  );
}

/** Marks every pending acknowledgment sent, as the mailer would (it meets the acknowledge deadline). */
function sendAcknowledgments(db: Db): void {
  const ids = db
    .prepare("SELECT id FROM outbox WHERE kind = 'acknowledgment' AND state = 'pending'")
    .all() as {
    id: number;
  }[];
  for (const { id } of ids) markSent(db, clock, loadOutbox(db, id)!, '250 ok');
}

const at = (iso: string) => clock.set(iso);

/** A report from `reporter` at `when`, acknowledged as the mailer would. */
function report(db: Db, when: string, over: Parameters<typeof buildDecoded>[0]): void {
  at(when);
  ingest(db, buildDecoded(over));
  sendAcknowledgments(db);
}
/** A signed staff command mail at `when`. */
function act(db: Db, when: string, ...args: Parameters<typeof command>): void {
  at(when);
  ingest(db, command(...args));
}
const from = (local: string) => ({ address: `${local}@psirt.test`, name: null });

/** The four cases of the acceptance, each through signed commands. */
function buildCases(db: Db): void {
  // SEC-2026-0001: the whole lifecycle, closed fixed after publication. The canaries are here.
  report(db, '2026-11-02T09:00:00Z', {
    messageId: 'r1@x',
    subject: CANARY_SUBJECT,
    text: `Steps: ${CANARY_BODY}`,
  });
  act(
    db,
    '2026-11-03T09:00:00Z',
    'carol',
    'SEC-2026-0001',
    '/assign alice /triage',
    `Quoting: ${CANARY_BODY}`,
  );
  act(db, '2026-11-04T09:00:00Z', 'carol', 'SEC-2026-0001', `/cvss ${CVSS} /verified`);
  act(db, '2026-11-05T09:00:00Z', 'carol', 'SEC-2026-0001', '/fixed /disclose 2026-11-20');
  act(
    db,
    '2026-11-06T09:00:00Z',
    'carol',
    'SEC-2026-0001',
    '/no-draft "the reporter asked for no draft" /publish https://psirt.test/advisories/1 /close fixed',
  );

  // SEC-2026-0002: received Wed 4 Nov; verify due 5 business days later (Wed 11 Nov, 10:00 in
  // Berlin); /verified on Mon 16 Nov, 10:00: Wed 14h + Thu + Fri + Mon 10h = 3 business days late.
  report(db, '2026-11-04T09:00:00Z', {
    messageId: 'r2@x',
    subject: 'SQL injection in search',
    from: from('reporter2'),
  });
  act(db, '2026-11-05T09:00:00Z', 'carol', 'SEC-2026-0002', '/triage /severity high');
  act(db, '2026-11-16T09:00:00Z', 'carol', 'SEC-2026-0002', '/verified');

  // SEC-2026-0003: on hold.
  report(db, '2026-11-17T09:00:00Z', {
    messageId: 'r3@x',
    subject: 'Open redirect',
    from: from('reporter3'),
  });
  act(db, '2026-11-18T09:00:00Z', 'carol', 'SEC-2026-0003', '/triage /hold "pending litigation 2026-14"');

  // SEC-2026-0004: a duplicate of the first.
  report(db, '2026-11-19T09:00:00Z', {
    messageId: 'r4@x',
    subject: 'Same XSS again',
    from: from('reporter3'),
  });
  act(db, '2026-11-20T09:00:00Z', 'carol', 'SEC-2026-0004', '/duplicate SEC-2026-0001');
}

/** Every regular file below `root`, relative. */
function filesBelow(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

function extract(archive: string): string {
  const into = mkdtempSync(join(dir, 'x-'));
  execFileSync('tar', ['-xzf', archive, '-C', into]);
  const [folder, ...more] = readdirSync(into);
  expect(more).toEqual([]);
  return join(into, folder!);
}

interface Evidence {
  summary: { cases: number; missedStages: number; brokenChains: number };
  chain: { brokenCases: { caseId: string; eventId: number | null; reason: string }[] };
  cases: {
    id: string;
    stage: string;
    resolution: string | null;
    duplicateOf: string | null;
    onHold: boolean;
    chain: { ok: boolean };
    stages: { stage: string; verdict: string; businessDays: number | null; stillOpen: boolean }[];
  }[];
}

const readEvidence = (root: string) =>
  JSON.parse(readFileSync(join(root, 'evidence.json'), 'utf8')) as Evidence;

describe('psirt evidence', () => {
  let archive: string;
  let root: string;
  let cli: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    const db = migratedDb(clock, dbPath);
    // Sealed with the team key's data key, as the service seals them: the CLI opens them (#13).
    useVault(await serviceVault(db));
    // Two procedure versions in the period, as two starts of the service record them: an
    // earlier one with 7 business days to verify, then the configuration the CLI runs with (5).
    const ctx = {
      teamKeys: [await teamKey()],
      calendar: createCalendar(config.calendar),
      roles: ['intake', 'mailer', 'escalation'],
      version: '0.1.0',
    };
    const earlier = structuredClone(config);
    earlier.deadlines.verify = { amount: 7, unit: 'business_days' };
    recordProcedureStart(db, fixedClock('2026-10-01T08:00:00Z'), procedureFacts(earlier, ctx));
    recordProcedureStart(db, fixedClock('2026-11-01T08:00:00Z'), procedureFacts(config, ctx));
    buildCases(db);
    const stages = db.prepare('SELECT id, stage, resolution, on_hold FROM cases ORDER BY id').all();
    expect(stages).toEqual([
      { id: 'SEC-2026-0001', stage: 'closed', resolution: 'fixed', on_hold: 0 },
      { id: 'SEC-2026-0002', stage: 'fixing', resolution: null, on_hold: 0 },
      { id: 'SEC-2026-0003', stage: 'verifying', resolution: null, on_hold: 1 },
      { id: 'SEC-2026-0004', stage: 'closed', resolution: 'duplicate', on_hold: 0 },
    ]);
    db.close();
    archive = join(dir, 'period.tar.gz');
    cli = await runCli(
      ['--config', configFile, 'evidence', '--from', '2026-01-01', '--to', '2026-12-31', '--out', archive],
      env,
    );
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    root = extract(archive);
  });

  it('prints what it wrote: counts of cases, missed stages, broken chains and the manifest digest', () => {
    const manifest = execFileSync('sha256sum', [join(root, 'SHA256SUMS')])
      .toString()
      .split(' ')[0]!;
    expect(cli.stdout).toContain(`wrote ${archive}`);
    expect(cli.stdout).toMatch(/4 cases, [1-9]\d* missed stages, 0 broken case chains/);
    expect(cli.stdout).toContain(`manifest SHA256SUMS sha256 ${manifest}`);
    const db = openDatabase(dbPath, { readonly: true });
    expect(
      db
        .prepare('SELECT period_from, period_to, manifest_sha256, archive, head_hash FROM evidence_exports')
        .all(),
    ).toEqual([
      {
        period_from: '2026-01-01',
        period_to: '2026-12-31',
        manifest_sha256: manifest,
        archive: 'period.tar.gz',
        head_hash: (db.prepare('SELECT hash FROM events ORDER BY id DESC LIMIT 1').get() as { hash: string })
          .hash,
      },
    ]);
    db.close();
  });

  it('has a manifest that sha256sum -c accepts and that lists every other file', () => {
    const check = execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: root }).toString();
    const listed = readFileSync(join(root, 'SHA256SUMS'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.slice(66));
    expect(listed.sort()).toEqual(filesBelow(root).filter((f) => !f.startsWith('SHA256SUMS')));
    expect(
      check
        .trim()
        .split('\n')
        .every((l) => l.endsWith(': OK')),
    ).toBe(true);
    expect(listed).toEqual(expect.arrayContaining(['evidence.json', 'report.html', 'index.md', 'cases.csv']));
  });

  it('has a manifest signature that gpg verifies with the team public key', () => {
    withGpg(['team.pub'], (gpg) => {
      const r = gpg(['--verify', join(root, 'SHA256SUMS.asc'), join(root, 'SHA256SUMS')]);
      expect(r.status).toMatch(/\[GNUPG:\] VALIDSIG/);
      expect(r.status).toMatch(/\[GNUPG:\] GOODSIG/);
    });
  });

  it('reports the missed verify stage with its lateness in business days, the hold and the duplicate', () => {
    const ev = readEvidence(root);
    const byId = new Map(ev.cases.map((c) => [c.id, c]));
    expect(byId.get('SEC-2026-0002')!.stages.find((s) => s.stage === 'verify')).toMatchObject({
      verdict: 'missed',
      businessDays: 3,
      stillOpen: false,
    });
    expect(byId.get('SEC-2026-0001')!.stages.find((s) => s.stage === 'verify')).toMatchObject({
      verdict: 'met',
    });
    expect(byId.get('SEC-2026-0003')).toMatchObject({
      onHold: true,
      stage: 'verifying',
      // #13: the legal hold with its reason, since when and by whom, and its history.
      legalHold: {
        reason: 'pending litigation 2026-14',
        since: '2026-11-18T09:00:00.000Z',
        by: 'Carol Tester',
      },
      holdHistory: [
        {
          at: '2026-11-18T09:00:00.000Z',
          onHold: true,
          reason: 'pending litigation 2026-14',
          by: 'staff: Carol Tester',
        },
      ],
    });
    expect(byId.get('SEC-2026-0004')).toMatchObject({
      resolution: 'duplicate',
      duplicateOf: 'SEC-2026-0001',
    });
    const index = readFileSync(join(root, 'index.md'), 'utf8');
    for (const clause of ['4.2.1.1', '4.2.1.2', '4.2.2.1', '4.2.2.2', '4.2.2.3', '4.2.2.4'])
      expect(index).toContain(`### ${clause} `);
    expect(index).toContain('## Cases on legal hold');
    expect(index).toMatch(
      /^- SEC-2026-0003: legal hold: pending litigation 2026.14 \(since 2026-11-18T09:00:00\.000Z, by Carol Tester\)$/m,
    );
  });

  it('opens report.html in headless Chromium with no console error and no request, showing the missed stage', async () => {
    await withChromium(join(root, 'report.html'), async ({ page, errors, requests }) => {
      const row = page.locator('tr', { has: page.locator('a[href="#SEC-2026-0002"]') });
      // The page is static (no script): what it shows is there once loaded.
      const missed = await row.locator('td.missed').allTextContents();
      expect(missed.join(' | ')).toContain('missed, 3 business days late');
      const text = await page.locator('body').innerText();
      expect(text).toContain('verifying, on hold');
      expect(text).toContain('closed (duplicate of SEC-2026-0001)');
      expect(await page.locator('svg').count()).toBeGreaterThanOrEqual(2);
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
    });
  });

  it('holds the program documents of every procedure version in force in the period (#12 Deliver 3)', () => {
    const versions = (
      JSON.parse(readFileSync(join(root, 'evidence.json'), 'utf8')) as {
        procedure: { versions: { configDigest: string; source: string; error: string | null }[] };
      }
    ).procedure.versions;
    expect(versions.map((v) => [v.source, v.error])).toEqual([
      ['recorded', null],
      ['recorded', null],
    ]);
    const [then, now] = versions.map((v) => `program/${v.configDigest}`) as [string, string];
    const files = filesBelow(root);
    for (const doc of [
      'procedure.md',
      'roles.md',
      'staffing.md',
      'expertise.md',
      'raci.md',
      'SECURITY.md',
      'book.html',
    ]) {
      expect(files).toContain(`${then}/${doc}`);
      expect(files).toContain(`${now}/${doc}`);
    }
    // Each version's procedure states its own verify deadline.
    expect(readFileSync(join(root, then, 'procedure.md'), 'utf8')).toContain('within **7 business days**');
    expect(readFileSync(join(root, now, 'procedure.md'), 'utf8')).toContain('within **5 business days**');
    // The test profile sets no public_channel.expires: no security.txt, and the book says why.
    expect(files).not.toContain(`${now}/security.txt`);
    expect(readFileSync(join(root, now, 'book.html'), 'utf8')).toMatch(
      /renders no security\.txt: .*public_channel\.expires/,
    );
    // The index maps the procedure clause to both versions' files.
    const index = readFileSync(join(root, 'index.md'), 'utf8');
    expect(index).toContain(`${then}/procedure.md`);
    expect(index).toContain(`${now}/procedure.md`);
  });

  it('holds neither canary in any file, nor in the archive bytes', () => {
    for (const f of filesBelow(root)) {
      const text = readFileSync(join(root, f), 'utf8');
      expect(text, f).not.toContain(CANARY_SUBJECT);
      expect(text, f).not.toContain(CANARY_BODY);
    }
    const tarBytes = gunzipSync(readFileSync(archive)).toString('latin1');
    expect(tarBytes).toContain('report.html');
    expect(tarBytes).not.toContain(CANARY_SUBJECT);
    expect(tarBytes).not.toContain(CANARY_BODY);
  });

  it('with --include-subjects holds the subject canary, and still never the body canary', async () => {
    const withSubjects = join(dir, 'subjects.tar.gz');
    const r = await runCli(
      [
        '--config',
        configFile,
        'evidence',
        '--from',
        '2026-01-01',
        '--to',
        '2026-12-31',
        '--out',
        withSubjects,
        '--include-subjects',
      ],
      env,
    );
    expect(r.code).toBe(0);
    const into = extract(withSubjects);
    const all = filesBelow(into).map((f) => readFileSync(join(into, f), 'utf8'));
    expect(all.some((t) => t.includes(CANARY_SUBJECT))).toBe(true);
    expect(all.some((t) => t.includes(CANARY_BODY))).toBe(false);
    expect(gunzipSync(readFileSync(withSubjects)).toString('latin1')).not.toContain(CANARY_BODY);
  });

  it('refuses --from after --to naming the option, exit 2, and writes nothing', async () => {
    const out = join(dir, 'never.tar.gz');
    const r = await runCli(
      ['--config', configFile, 'evidence', '--from', '2026-12-31', '--to', '2026-01-01', '--out', out],
      env,
    );
    expect(r.stderr).toContain('--from (2026-12-31) must not be after --to (2026-01-01)');
    expect(r.code).toBe(2);
    expect(() => statSync(out)).toThrow();
  });

  it('on a missing database says what to run, exit 1', async () => {
    const r = await runCli(
      ['--config', configFile, 'evidence', '--from', '2026-01-01', '--to', '2026-12-31'],
      {
        ...env,
        PSIRT_DATABASE__PATH: join(dir, 'absent.db'),
      },
    );
    expect(r.stderr).toContain('run "psirt migrate"');
    expect(r.code).toBe(1);
  });

  // Runs last: it changes the database the tests above read.
  it('after one event row is altered with raw SQL, the next archive reports the broken case and event', async () => {
    const db = openDatabase(dbPath);
    const target = db
      .prepare(
        "SELECT id FROM events WHERE case_id = 'SEC-2026-0002' AND type = 'case.stage-changed' ORDER BY id LIMIT 1",
      )
      .get() as { id: number };
    db.prepare('DROP TRIGGER events_no_update').run();
    db.prepare("UPDATE events SET at = '2026-11-04T08:00:00.000Z' WHERE id = ?").run(target.id);
    db.close();
    const tampered = join(dir, 'tampered.tar.gz');
    const r = await runCli(
      ['--config', configFile, 'evidence', '--from', '2026-01-01', '--to', '2026-12-31', '--out', tampered],
      env,
    );
    // The archive is written and reports the break; the exit code tells a script (#12 trial).
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('1 broken case chains');
    const into = extract(tampered);
    const ev = readEvidence(into);
    expect(ev.chain.brokenCases).toEqual([
      { caseId: 'SEC-2026-0002', eventId: target.id, reason: 'content does not match its hash' },
    ]);
    expect(ev.cases[0]).toMatchObject({ id: 'SEC-2026-0002', chain: { ok: false } });
    const index = readFileSync(join(into, 'index.md'), 'utf8');
    expect(index).toContain(`**SEC-2026-0002**: event ${String(target.id)}: content does not match its hash`);
    expect(readFileSync(join(into, 'report.html'), 'utf8')).toContain(`BROKEN at event ${String(target.id)}`);
  });

  it('after the chain is rewritten and rehashed, the next archive says it no longer matches the earlier ones (#12 trial)', async () => {
    const db = openDatabase(dbPath);
    db.prepare('DROP TRIGGER IF EXISTS events_no_update').run();
    // The forger recomputes every hash from the altered row on, so the chain itself verifies again.
    const first = db
      .prepare("SELECT id FROM events WHERE case_id = 'SEC-2026-0002' ORDER BY id LIMIT 1")
      .get() as { id: number };
    const rows = db.prepare('SELECT * FROM events WHERE id >= ? ORDER BY id').all(first.id) as EventRow[];
    let prev = rows[0]!.prev_hash;
    for (const row of rows) {
      const hash = hashEvent(prev, row);
      db.prepare('UPDATE events SET prev_hash = ?, hash = ? WHERE id = ?').run(prev, hash, row.id);
      prev = hash;
    }
    db.close();
    const out = join(dir, 'rehashed.tar.gz');
    const r = await runCli(
      ['--config', configFile, 'evidence', '--from', '2026-01-01', '--to', '2026-12-31', '--out', out],
      env,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('0 broken case chains');
    expect(r.stdout).toMatch(/the chain was rewritten since \d+ earlier archive\(s\)/);
    const index = readFileSync(join(extract(out), 'index.md'), 'utf8');
    expect(index).toContain('## Chain rewritten since an earlier archive');
    expect(index).toMatch(/archive period\.tar\.gz \(written [^)]+\): its head event \d+ has hash/);
  });
});
