import { workerStack } from '../support/worker-stack.js';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildDecoded, buildSignedStaffMail } from '../support/builders.js';
import { runCli } from '../support/cli.js';
import { migratedDb, tempDbPath } from '../support/db.js';
import { ingestHarness } from '../support/ingest.js';
import { queryDb } from '../support/service.js';
import { stackEnv } from '../support/stack.js';

const stack = workerStack();
const YEAR = 365.25 * 86_400_000;

/**
 * Cases made by the real classify + apply path and closed or held by signed staff commands,
 * their dates relative to the wall clock (the CLI runs on it): two closed 5 years ago, one
 * closed a year ago, one closed 5 years ago and on hold, one open.
 */
function databaseWithOldCases() {
  const start = new Date(Date.now() - 5.5 * YEAR);
  const h = ingestHarness({ at: start.toISOString() });
  const path = tempDbPath();
  const db = migratedDb(h.clock, path);
  const alice = h.config.staff.find((s) => s.address === 'alice@psirt.test')!;
  let n = 0;
  const report = (): string => {
    n += 1;
    return h.ingest(
      db,
      buildDecoded({
        messageId: `r-${n}@reporter.test`,
        from: { address: `r${n}@reporter.test`, name: null },
      }),
    ).result.caseId!;
  };
  const command = (yearsAgo: number, caseId: string, cmd: string): void => {
    n += 1;
    h.clock.set(new Date(Date.now() - yearsAgo * YEAR));
    h.ingest(
      db,
      buildSignedStaffMail(
        alice,
        `Re: [${caseId}] ${cmd}`,
        { text: 'internal' },
        {
          messageId: `cmd-${n}@psirt.test`,
          signedAt: h.clock.now().toISOString(),
          digest: `${n}`.padStart(64, '0'),
        },
      ),
    );
  };
  const ids = { oldA: report(), oldB: report(), young: report(), held: report(), open: report() };
  command(5, ids.oldA, '/close invalid');
  command(5, ids.oldB, '/close spam');
  command(5, ids.held, '/close invalid');
  command(4.9, ids.held, '/hold "litigation 2021-3"');
  command(1, ids.young, '/close invalid');
  db.close();
  return { path, ids, env: stackEnv(stack, { PSIRT_DATABASE__PATH: path }) };
}

describe('psirt retention', () => {
  it('--dry-run lists exactly the cases the run then purges, the held one apart; verify passes after', async () => {
    const { path, ids, env } = databaseWithOldCases();
    const dry = await runCli(['retention', '--dry-run', '--json'], env);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    const plan = JSON.parse(dry.stdout) as { policyYears: number; due: { id: string }[]; held: string[] };
    expect(plan.policyYears).toBe(3);
    expect(plan.due.map((d) => d.id)).toEqual([ids.oldA, ids.oldB]);
    expect(plan.held).toEqual([ids.held]);
    // The dry run changed nothing.
    expect(queryDb(path, 'SELECT count(*) AS n FROM cases WHERE purged_at IS NOT NULL')).toEqual([{ n: 0 }]);

    const text = await runCli(['retention', '--dry-run'], env);
    expect(text.stdout).toContain('2 case(s) would be purged:');
    expect(text.stdout).toContain(`1 case(s) past retention kept on legal hold: ${ids.held}`);

    const ran = await runCli(['retention', '--json'], env);
    expect(ran.code).toBe(0);
    const result = JSON.parse(ran.stdout) as { purged: string[]; held: string[] };
    expect(result.purged).toEqual(plan.due.map((d) => d.id));
    expect(result.held).toEqual([ids.held]);
    expect(
      queryDb(path, 'SELECT id FROM cases WHERE purged_at IS NOT NULL ORDER BY id').map(
        (r) => (r as { id: string }).id,
      ),
    ).toEqual([ids.oldA, ids.oldB].sort());

    const verify = await runCli(['verify'], env);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);

    const again = await runCli(['retention'], env);
    expect(again.code).toBe(0);
    expect(again.stdout.split('\n')[0]).toBe('purged 0 case(s)');
  });

  it('refuses a missing database in one line, creating nothing', async () => {
    const path = tempDbPath();
    const r = await runCli(['retention'], stackEnv(stack, { PSIRT_DATABASE__PATH: path }));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `psirt: no database at ${path}: run "psirt migrate" (or start the service) first\n`,
    );
    expect(existsSync(path)).toBe(false);
  });
});
