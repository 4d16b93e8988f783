import { workerStack } from '../support/worker-stack.js';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/7-cases/db.js';
import { migrate, readMigrations } from '../../src/7-cases/migrate.js';
import { systemClock } from '../../src/core/clock.js';
import { migrationsDir } from '../../src/cli/doctor.js';
import { buildDecoded, buildSignedStaffMail } from '../support/builders.js';
import { runCli, spawnCli } from '../support/cli.js';
import { ingestHarness } from '../support/ingest.js';
import { tempDbPath } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { stackEnv } from '../support/stack.js';

const stack = workerStack();

/**
 * Starts `psirt <args>`, waits until it says it started, runs `whileUp`, stops it with SIGTERM and
 * returns its exit code and output.
 */
async function whileStarted(
  args: string[],
  env: Record<string, string>,
  whileUp: () => Promise<void>,
): Promise<{ code: number | null; output: string }> {
  const { child, out } = spawnCli(args, env);
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    await eventually(() => (out.text.includes('psirt-inbox started') ? true : undefined), {
      timeoutMs: 20_000,
      what: 'service start',
    });
    await whileUp();
  } finally {
    child.kill('SIGTERM');
  }
  return { code: await exited, output: out.text };
}

describe('psirt start', () => {
  it('refuses a config file with deadlines.fix.critical = -1, naming the key, and exits 2', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'psirt-cfg-')), 'bad.toml');
    writeFileSync(file, '[deadlines.fix]\ncritical = -1\n');
    const dbPath = tempDbPath();
    const r = await runCli(['--config', file, 'start'], stackEnv(stack, { PSIRT_DATABASE__PATH: dbPath }));
    expect(r.stderr).toContain('deadlines.fix.critical: must be a positive number (got -1)');
    expect(r.code).toBe(2);
  });

  it('migrates, beats, is healthy for doctor --quick, and stops cleanly on SIGTERM', async () => {
    const dbPath = tempDbPath();
    const env = stackEnv(stack, { PSIRT_DATABASE__PATH: dbPath, PSIRT_LOG__LEVEL: 'info' });
    const run = await whileStarted(['start'], env, async () => {
      const quick = await runCli(['doctor', '--quick'], env);
      expect(quick.stdout).toMatch(/✓ heartbeat\s+alive: escalation, intake, mailer/);
      expect(quick.code).toBe(0);
    });
    expect(run.code).toBe(0);
    const lines = run.output
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event?: string });
    expect(lines.map((l) => l.event)).toContain('service.stopped');
    const db = openDatabase(dbPath, { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM heartbeats').get()).toEqual({ n: 0 });
    db.close();
    const after = await runCli(['doctor', '--quick'], env);
    expect(after.stdout).toMatch(/✗ heartbeat\s+no running role/);
    expect(after.code).toBe(1);
  });

  it('refuses to start when the team key passphrase is wrong, naming the key', async () => {
    const env = stackEnv(stack, {
      PSIRT_DATABASE__PATH: tempDbPath(),
      PSIRT_PGP__KEYS__0__PASSPHRASE: 'nope-3c1d',
    });
    const r = await runCli(['start'], env);
    expect(r.stderr).toContain('pgp.keys[0]: the passphrase does not unlock the key');
    expect(r.stdout + r.stderr).not.toContain('nope-3c1d');
    expect(r.code).toBe(1);
  });
});

describe('the container HEALTHCHECK (issue #10)', () => {
  it('doctor --quick without --config checks the configuration file the running start was given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psirt-run-'));
    const dbPath = tempDbPath();
    // The database path is only in the file: a health check that misses the file checks another one.
    const file = join(dir, 'deploy.toml');
    writeFileSync(file, `[database]\npath = "${dbPath}"\n`);
    const env = stackEnv(stack, { PSIRT_RUN_DIR: join(dir, 'run'), PSIRT_LOG__LEVEL: 'info' });
    const run = await whileStarted(['--config', file, 'start'], env, async () => {
      const quick = await runCli(['doctor', '--quick'], env);
      expect(quick.stdout).toContain(dbPath);
      expect(quick.stdout).toMatch(/✓ heartbeat\s+alive: escalation, intake, mailer/);
      expect(quick.code).toBe(0);
    });
    expect(run.code).toBe(0);
  });
});

describe('psirt start, stopped during start-up', () => {
  it('exits 0 after a clean stop even when SIGTERM arrives before the roles run', async () => {
    const env = stackEnv(stack, { PSIRT_DATABASE__PATH: tempDbPath(), PSIRT_LOG__LEVEL: 'info' });
    const { child, out } = spawnCli(['start'], env);
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // As soon as node has loaded the CLI (its first log line), long before migrations finish.
    await eventually(() => (out.text.includes('cases.migrated') ? true : undefined), {
      timeoutMs: 20_000,
      what: 'start-up',
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out.text).toContain('service.stopped');
  });
});

describe('psirt migrate', () => {
  it('reports a file that is not SQLite in one line, without a stack trace', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'psirt-notdb-')), 'x.db');
    writeFileSync(file, 'this is not a database, just text that is long enough to have a header '.repeat(20));
    const r = await runCli(['migrate'], stackEnv(stack, { PSIRT_DATABASE__PATH: file }));
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^psirt: migrate failed: .*not a database/),
    ]);
    expect(r.code).toBe(1);
  });
});

describe('psirt --version', () => {
  it('prints the package version', async () => {
    const r = await runCli(['--version'], {});
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(r.code).toBe(0);
  });
});

describe('psirt config print', () => {
  it('prints the effective config with every secret redacted', async () => {
    const r = await runCli(['config', 'print'], stackEnv(stack));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('password = "[redacted]"');
    expect(r.stdout).not.toContain(stack.password);
    expect(r.stdout).not.toContain('test-only-team-passphrase');
  });
});

describe('psirt --help', () => {
  it.each([[[]], [['start']], [['doctor']], [['config', 'print']], [['migrate']]])(
    'answers %j --help',
    async (args) => {
      const r = await runCli([...args, '--help'], {});
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: psirt/);
    },
  );
});

describe('psirt raci', () => {
  it('prints the matrix from config with the staff holding each role', async () => {
    const r = await runCli(['raci'], stackEnv(stack));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^Verification and scoring \(CVSS, severity\)\s+\/severity \/cvss \/verified\s+security\s+manager/m,
    );
    expect(r.stdout).toContain('Advisory publication and customer notification: manager may run /publish');
    expect(r.stdout).toMatch(
      /^ {2}security\s+Alice Tester <alice@psirt\.test>, Carol Tester <carol@psirt\.test>$/m,
    );
    const json = JSON.parse((await runCli(['raci', '--json'], stackEnv(stack))).stdout) as {
      raci: unknown[];
    };
    expect(json.raci.length).toBeGreaterThan(5);
  });
});

describe('psirt commands that read the database (issue #10)', () => {
  describe('when the database file does not exist', () => {
    it.each([[['cases', 'list']], [['cases', 'show', 'SEC-2026-0001']], [['deadlines', '--late']]])(
      '%j exits 1 with one line naming "psirt migrate" and creates no file',
      async (args) => {
        const dbPath = join(mkdtempSync(join(tmpdir(), 'psirt-nodb-')), 'sub', 'psirt.db');
        const r = await runCli(args, stackEnv(stack, { PSIRT_DATABASE__PATH: dbPath }));
        expect(r.stderr.trim().split('\n')).toEqual([
          `psirt: no database at ${dbPath}: run "psirt migrate" (or start the service or the demo) first`,
        ]);
        expect(r.stdout).toBe('');
        expect(r.code).toBe(1);
        expect(existsSync(dbPath)).toBe(false);
      },
    );

    it('doctor --quick names the missing database once, with no heartbeat line repeating the driver error', async () => {
      const dbPath = join(mkdtempSync(join(tmpdir(), 'psirt-nodb-')), 'sub', 'psirt.db');
      const r = await runCli(['doctor', '--quick'], stackEnv(stack, { PSIRT_DATABASE__PATH: dbPath }));
      expect(r.stdout).toMatch(/✗ sqlite/);
      expect(r.stdout).not.toMatch(/heartbeat/);
      expect(r.code).toBe(1);
      expect(existsSync(dbPath)).toBe(false);
    });

    it('migrate --status says every migration is pending and creates no file', async () => {
      const dbPath = join(mkdtempSync(join(tmpdir(), 'psirt-nodb-')), 'psirt.db');
      const r = await runCli(['migrate', '--status'], stackEnv(stack, { PSIRT_DATABASE__PATH: dbPath }));
      expect(r.stdout).toMatch(/^no database at .*: all \d+ migrations pending/);
      expect(r.code).toBe(0);
      expect(existsSync(dbPath)).toBe(false);
    });
  });

  it('cases list on an empty, unmigrated SQLite file exits 1 with one line naming "psirt migrate"', async () => {
    const dbPath = tempDbPath();
    openDatabase(dbPath).close();
    const r = await runCli(['cases', 'list'], stackEnv(stack, { PSIRT_DATABASE__PATH: dbPath }));
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^psirt: the database at .* is not migrated \(\d+ migration\(s\) pending\): run "psirt migrate" first$/,
      ),
    ]);
    expect(r.code).toBe(1);
  });

  it('deadlines --late with nothing late says that no deadline is late', async () => {
    const dbPath = tempDbPath();
    const db = openDatabase(dbPath);
    migrate(db, readMigrations(migrationsDir()), systemClock);
    db.close();
    const r = await runCli(['deadlines', '--late'], stackEnv(stack, { PSIRT_DATABASE__PATH: dbPath }));
    expect(r.stdout.trim()).toBe('no deadline is late');
    expect(r.code).toBe(0);
  });
});

describe('psirt hold | unhold (issue #13: legal hold from the CLI)', () => {
  /** A database with one triaged case, written by the real classify + apply path. */
  function withCase(): string {
    const { clock, config, ingest } = ingestHarness();
    const dbPath = tempDbPath();
    const db = openDatabase(dbPath);
    migrate(db, readMigrations(migrationsDir()), clock);
    ingest(db, buildDecoded({ messageId: 'cli-hold-report@reporter.test' }));
    const carol = config.staff.find((m) => m.address === 'carol@psirt.test')!;
    ingest(
      db,
      buildSignedStaffMail(
        carol,
        'Re: [SEC-2026-0001] XSS /triage',
        { from: { address: carol.address, name: null } },
        {
          messageId: 'cli-hold-triage@psirt.test',
          signedAt: clock.now().toISOString(),
        },
      ),
    );
    db.close();
    return dbPath;
  }
  const holdRows = (dbPath: string) => {
    const db = openDatabase(dbPath, { readonly: true });
    try {
      return {
        kase: db
          .prepare('SELECT on_hold, hold_reason, held_at, held_by FROM cases WHERE id = ?')
          .get('SEC-2026-0001') as {
          on_hold: number;
          hold_reason: string | null;
          held_at: string | null;
          held_by: string | null;
        },
        events: db
          .prepare("SELECT actor, auth, data FROM events WHERE type = 'case.hold' ORDER BY id")
          .all() as { actor: string; auth: string; data: string }[],
      };
    } finally {
      db.close();
    }
  };

  it('holds as the accountable manager with auth cli, shows it in cases show and list, and unholds', async () => {
    const dbPath = withCase();
    const env = stackEnv(stack, { PSIRT_DATABASE__PATH: dbPath });
    const before = Date.now();
    const held = await runCli(
      ['hold', 'SEC-2026-0001', '--reason', 'litigation 2026-14', '--as', 'carol@psirt.test'],
      env,
    );
    expect(held.stderr).toBe('');
    expect(held.stdout).toMatch(/^SEC-2026-0001: on legal hold: litigation 2026-14 /);
    expect(held.code).toBe(0);
    const rows = holdRows(dbPath);
    expect(rows.kase).toMatchObject({
      on_hold: 1,
      hold_reason: 'litigation 2026-14',
      held_by: 'carol@psirt.test',
    });
    const heldAt = Date.parse(rows.kase.held_at ?? '');
    expect(heldAt).toBeGreaterThanOrEqual(before - 1000);
    expect(heldAt).toBeLessThanOrEqual(Date.now());
    expect(rows.events).toHaveLength(1);
    expect(rows.events[0]).toMatchObject({ actor: 'staff:carol@psirt.test', auth: 'cli' });
    expect(JSON.parse(rows.events[0]!.data)).toEqual({
      onHold: true,
      reason: 'litigation 2026-14',
      heldAt: rows.kase.held_at,
      heldBy: 'carol@psirt.test',
    });

    const show = await runCli(['cases', 'show', 'SEC-2026-0001'], env);
    expect(show.stdout).toContain(
      `  legal hold: litigation 2026-14 (since ${rows.kase.held_at ?? ''}, by carol@psirt.test)`,
    );
    const list = await runCli(['cases', 'list'], env);
    expect(list.stdout).toMatch(/SEC-2026-0001\s+verifying \(legal hold\)/);

    const released = await runCli(['unhold', 'SEC-2026-0001', '--as', 'carol@psirt.test'], env);
    expect(released.stdout).toMatch(/^SEC-2026-0001: legal hold released/);
    expect(released.code).toBe(0);
    expect(holdRows(dbPath).kase).toEqual({ on_hold: 0, hold_reason: null, held_at: null, held_by: null });
    expect((await runCli(['cases', 'show', 'SEC-2026-0001'], env)).stdout).not.toContain('legal hold:');
  });

  it('exits 2 naming why for a role the RACI matrix does not allow, a non-staff address, or no reason; changes nothing', async () => {
    const dbPath = withCase();
    const env = stackEnv(stack, { PSIRT_DATABASE__PATH: dbPath });
    const cases: [string[], RegExp][] = [
      [
        ['hold', 'SEC-2026-0001', '--reason', 'x', '--as', 'bob@psirt.test'],
        /^psirt: --as bob@psirt.test: \/hold \(Closing, reopening and legal hold\) needs the role security or legal or manager; you have developer$/,
      ],
      [
        ['unhold', 'SEC-2026-0001', '--as', 'bob@psirt.test'],
        /\/unhold \(Closing, reopening and legal hold\) needs the role/,
      ],
      [
        ['hold', 'SEC-2026-0001', '--reason', 'x', '--as', 'mallory@psirt.test'],
        /^psirt: --as mallory@psirt.test: not a configured staff member/,
      ],
      [
        ['hold', 'SEC-2026-0001', '--reason', ' ', '--as', 'carol@psirt.test'],
        /^psirt: a legal hold needs a reason: psirt hold SEC-2026-0001 --reason "<why>" --as <staff address>$/,
      ],
      [['hold', 'SEC-2026-0001', '--as', 'carol@psirt.test'], /required option '--reason <text>'/],
    ];
    for (const [args, why] of cases) {
      const r = await runCli(args, env);
      expect(r.stderr.trim(), args.join(' ')).toMatch(why);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(holdRows(dbPath)).toEqual({
      kase: { on_hold: 0, hold_reason: null, held_at: null, held_by: null },
      events: [],
    });
  });

  it('exits 1 for an unknown case, and names "psirt migrate" when there is no database (creating none)', async () => {
    const env = stackEnv(stack, { PSIRT_DATABASE__PATH: withCase() });
    const unknown = await runCli(['hold', 'SEC-2026-0099', '--reason', 'x', '--as', 'carol@psirt.test'], env);
    expect(unknown.stderr.trim()).toBe('psirt: no case SEC-2026-0099');
    expect(unknown.code).toBe(1);
    const dbPath = join(mkdtempSync(join(tmpdir(), 'psirt-nodb-')), 'psirt.db');
    const r = await runCli(
      ['hold', 'SEC-2026-0001', '--reason', 'x', '--as', 'carol@psirt.test'],
      stackEnv(stack, { PSIRT_DATABASE__PATH: dbPath }),
    );
    expect(r.stderr.trim()).toBe(
      `psirt: no database at ${dbPath}: run "psirt migrate" (or start the service or the demo) first`,
    );
    expect(r.code).toBe(1);
    expect(existsSync(dbPath)).toBe(false);
  });
});
