import { workerStack } from '../support/worker-stack.js';
import { execFile } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO } from '../support/stack.js';

const stack = workerStack();
const run = promisify(execFile);

describe('test/stack/stack.sh with an existing Redis', () => {
  it('remembers the external Redis: a later status without PSIRT_STACK_REDIS_URL reports it up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psirt-stack-'));
    chmodSync(dir, 0o755); // Postfix and Dovecot drop privileges and must reach their state
    const script = join(REPO, 'test', 'stack', 'stack.sh');
    const base = { ...process.env, PSIRT_STACK_DIR: dir };
    await run('bash', [script, 'start'], { env: { ...base, PSIRT_STACK_REDIS_URL: stack.redisUrl } });
    try {
      const { stdout } = await run('bash', [script, 'status'], { env: base });
      expect(stdout).toContain(`redis  up   ${stack.redisUrl} (external)`);
    } finally {
      await run('bash', [script, 'stop'], { env: base });
    }
  }, 120_000);
});

describe('test/stack/stack.sh in a checkout whose parent folder is private (0700, issue #10)', () => {
  it('chooses a state folder Postfix and Dovecot can reach, says where, and status/env/stop find it', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'psirt-private-'));
    chmodSync(parent, 0o700);
    const repo = join(parent, 'checkout');
    mkdirSync(join(repo, 'test'), { recursive: true });
    cpSync(join(REPO, 'test', 'stack'), join(repo, 'test', 'stack'), { recursive: true });
    // Something already in <repo>/.stack (e.g. a database the CLI made) is kept.
    mkdirSync(join(repo, '.stack'));
    writeFileSync(join(repo, '.stack', 'keep.txt'), 'kept\n');
    const script = join(repo, 'test', 'stack', 'stack.sh');
    // No PSIRT_STACK_DIR: the script chooses the folder itself.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'PSIRT_STACK_DIR'));
    let state: string | undefined;
    try {
      const start = await run('bash', [script, 'start'], {
        env: { ...env, PSIRT_STACK_REDIS_URL: stack.redisUrl },
      });
      const said = start.stderr.split('\n').filter((l) => l.includes('state in /var/tmp/psirt-stack-'));
      expect(said).toHaveLength(1);
      expect(lstatSync(join(repo, '.stack')).isSymbolicLink()).toBe(true);
      state = realpathSync(join(repo, '.stack'));
      expect(state).toMatch(/^\/var\/tmp\/psirt-stack-[0-9a-f]{12}$/);
      expect(lstatSync(state).mode & 0o777).toBe(0o755);
      expect(lstatSync(join(state, 'password')).mode & 0o077).toBe(0);
      expect(readFileSync(join(state, 'keep.txt'), 'utf8')).toBe('kept\n');
      const status = await run('bash', [script, 'status'], { env });
      expect(status.stdout).toMatch(/^imap {3}up/m);
      expect(status.stdout).toMatch(/^smtp {3}up/m);
      const printed = await run('bash', [script, 'env'], { env });
      expect(printed.stdout).toContain(`PSIRT_STACK_DIR=${state}\n`);
      const psirtEnv = await run('bash', [script, 'psirt-env'], { env });
      expect(psirtEnv.stdout).toContain(`PSIRT_DATABASE__PATH=${state}/demo.db`);
      // A second start finds the same folder (no new choice, no second "state in" line).
      const again = await run('bash', [script, 'start'], { env });
      expect(again.stderr).not.toContain('state in /var/tmp');
      expect(again.stdout).toContain(`PSIRT_STACK_DIR=${state}\n`);
    } finally {
      await run('bash', [script, 'stop'], { env });
      if (state !== undefined && existsSync(state)) rmSync(state, { recursive: true, force: true });
      rmSync(parent, { recursive: true, force: true });
    }
  }, 180_000);
});
