import { workerStack } from '../support/worker-stack.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { tempDbPath } from '../support/db.js';
import { stackEnv } from '../support/stack.js';
import { throwawayRedis, type ThrowawayRedis } from '../support/throwaway-redis.js';

const stack = workerStack();
const dbPath = tempDbPath();
const env = (extra: Record<string, string> = {}) =>
  stackEnv(stack, { PSIRT_DATABASE__PATH: dbPath, ...extra });

/** The ✓/✗ mark doctor printed for the check called `name`. */
function mark(stdout: string, name: string): string | undefined {
  return stdout
    .split('\n')
    .find((l) => new RegExp(`^[✓✗] ${name.replace(/ /g, '\\s')}\\s`).test(l))
    ?.slice(0, 1);
}

beforeAll(async () => {
  const migrated = await runCli(['migrate'], env());
  expect(migrated.code).toBe(0);
});

describe('psirt doctor', () => {
  it('prints ✓ for every check against the running stack and exits 0', async () => {
    const r = await runCli(['doctor'], env());
    expect(r.stderr).toBe('');
    for (const name of ['config', 'sqlite', 'imap', 'smtp', 'redis', 'pgp key 0', 'staff commands'])
      expect(mark(r.stdout, name)).toBe('✓');
    expect(r.stdout).not.toContain('✗');
    expect(r.code).toBe(0);
  });

  describe('when the IMAP password is wrong', () => {
    const wrong = 'not-the-password-7f3a9c';
    it('prints ✗ imap naming the login failure, exits 1 and never prints the password', async () => {
      const r = await runCli(['doctor'], env({ PSIRT_IMAP__PASSWORD: wrong }));
      expect(mark(r.stdout, 'imap')).toBe('✗');
      expect(r.stdout).toMatch(/✗ imap\s+login failed for security@psirt\.test .*refused the credentials/);
      expect(r.stdout).toContain('fix: check imap.user and the password');
      expect(r.stdout + r.stderr).not.toContain(wrong);
      expect(r.stdout + r.stderr).not.toContain(stack.password);
      expect(r.code).toBe(1);
    });
  });

  describe('when the team key file is missing', () => {
    it('prints ✗ for the key naming the file and exits 1', async () => {
      const missing = join(mkdtempSync(join(tmpdir(), 'psirt-keys-')), 'gone.asc');
      const r = await runCli(['doctor'], env({ PSIRT_PGP__KEYS__0__FILE: missing }));
      expect(r.stdout).toMatch(/✗ pgp key 0\s+pgp\.keys\[0\]: key file (\S+) not found/);
      expect(r.stdout).toContain(`key file ${missing} not found`);
      expect(r.stdout).not.toContain('test-only-team-passphrase');
      expect(r.code).toBe(1);
    });
  });

  describe('when the passphrase is wrong', () => {
    it('prints ✗ for the key without echoing the passphrase', async () => {
      const r = await runCli(['doctor'], env({ PSIRT_PGP__KEYS__0__PASSPHRASE: 'wrong-passphrase-91b2' }));
      expect(r.stdout).toMatch(/✗ pgp key 0\s+pgp\.keys\[0\]: the passphrase does not unlock the key/);
      expect(r.stdout).not.toContain('wrong-passphrase-91b2');
      expect(r.code).toBe(1);
    });
  });

  describe('when Redis is stopped', () => {
    let redis: ThrowawayRedis | undefined;
    let url = '';

    beforeAll(async () => {
      redis = await throwawayRedis();
      url = redis.url;
    });

    afterAll(() => {
      redis?.kill();
    });

    it('prints ✓ redis while it runs, then ✗ redis naming the refused connection once stopped', async () => {
      const before = await runCli(['doctor'], env({ PSIRT_REDIS__URL: url }));
      expect(mark(before.stdout, 'redis')).toBe('✓');
      await redis?.stop();
      const after = await runCli(['doctor'], env({ PSIRT_REDIS__URL: url }));
      expect(after.stdout).toMatch(
        new RegExp(`✗ redis\\s+cannot reach ${url.replace(/[/.]/g, '\\$&')}: .*ECONNREFUSED`),
      );
      expect(after.code).toBe(1);
    });
  });

  it('--json prints one object per check', async () => {
    const r = await runCli(['doctor', '--json'], env());
    const results = JSON.parse(r.stdout) as { name: string; ok: boolean; warning?: boolean }[];
    expect(results.map((x) => x.name)).toEqual([
      'config',
      'sqlite',
      'imap',
      'smtp',
      'redis',
      'pgp key 0',
      // #13: what each team key seals, and what is still in clear.
      'sealed to key 0',
      'records in clear',
      // #15: the alarms the service has open about itself.
      'alarms',
      'security.txt',
      'staffing review',
      'staff commands',
    ]);
  });

  describe('when the test profile sets neither security.txt Expires nor a staffing review date (#12)', () => {
    it('prints both as warnings naming the key, and still exits 0', async () => {
      const r = await runCli(['doctor'], env());
      expect(r.stdout).toMatch(/^! security\.txt\s+public_channel\.expires is not set/m);
      expect(r.stdout).toMatch(/^! staffing review\s+staffing\.review_by is not set$/m);
      expect(r.code).toBe(0);
    });

    it('shows the Expires date and the days left once it is set', async () => {
      const expires = new Date(Date.now() + 100 * 86_400_000).toISOString().slice(0, 19) + 'Z';
      const r = await runCli(['doctor'], env({ PSIRT_PUBLIC_CHANNEL__EXPIRES: `"${expires}"` }));
      expect(r.stdout).toMatch(
        new RegExp(
          `^✓ security\\.txt\\s+Expires ${expires.slice(0, 16).replace('T', ' ')} UTC, in (99|100) days$`,
          'm',
        ),
      );
      expect(r.stdout).toMatch(
        /^✓ pgp key 0\s+\S+ .* unlocked, expires 2036-11-21 \(in \d+ days\), signs outgoing mail$/m,
      );
    });
  });
});
