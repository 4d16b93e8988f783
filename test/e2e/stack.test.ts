import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { REPO } from '../support/stack.js';

const stack = inject('stack');
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
