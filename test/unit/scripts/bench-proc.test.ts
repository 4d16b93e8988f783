import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cpuSince, machineCpu, treeUsage } from '../../../scripts/bench-proc.js';

// #16: the bench charges the mail stack with the CPU of its short-lived processes (Postfix forks
// smtpd, cleanup and lmtp per session), which a sum over the live processes misses once they
// ended. A daemon stand-in whose children each burn CPU and exit must be charged with them.
const BURN_MS = 250;
const CHILDREN = 3;
const daemon = `
  const { execFileSync } = require('node:child_process');
  for (let i = 0; i < ${CHILDREN}; i++)
    execFileSync(process.execPath, ['-e', 'const t = Date.now(); while (Date.now() - t < ${BURN_MS}) {}']);
  process.stdout.write('done\\n');
  setTimeout(() => {}, 30_000);
`;

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

describe('the bench reading the mail stack CPU from /proc', () => {
  it(
    'counts the CPU of children that already ended (reaped into the daemon), which the live tree does not',
    { timeout: 30_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bench-proc-'));
      mkdirSync(join(dir, 'postfix', 'queue', 'pid'), { recursive: true });
      const child = spawn(process.execPath, ['-e', daemon], { stdio: ['ignore', 'pipe', 'inherit'] });
      cleanup.push(() => {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      });
      writeFileSync(
        join(dir, 'postfix', 'queue', 'pid', 'master.pid'),
        `${String(child.pid).padStart(10)}\n`,
      );
      // Before the burners run: the node start of the stand-in only.
      const before = machineCpu(dir);
      await new Promise<void>((resolve) => child.stdout.on('data', () => resolve()));
      const used = cpuSince(before, machineCpu(dir));

      const burnt = (CHILDREN * BURN_MS) / 1000;
      expect(used.mailStack).toBeGreaterThanOrEqual(burnt * 0.8);
      // The live processes' own times miss the ended children: the whole point of the reading.
      expect(treeUsage(child.pid ?? 0).cpuSeconds).toBeLessThan(burnt * 0.5);
      // Nothing in the folder names Dovecot or Redis: they read as zero, not as an error.
      expect(used.redis).toBe(0);
      expect(used.machine).toBeGreaterThanOrEqual(used.mailStack * 0.9);
    },
  );
});
