import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { StackInfo } from './stack.js';

/**
 * The local stack of this e2e test process: e2e files run two at a time (vitest.config.ts), and
 * each process holds one stack for as long as it lives, so two files never share a mailbox, a
 * Postfix or a Redis. The stack is claimed with a lock file in its state folder naming this
 * process (created exclusively; a lock of a process that is gone is taken over) — vitest's worker
 * numbers are not a safe key: with the other tiers in the same run they need not be 1 and 2.
 * Also points PSIRT_STACK_DIR at it, for the tests that call test/stack/stack.sh (stop Postfix,
 * block delivery) and for readStack().
 */
let claimed: StackInfo | null = null;

const LOCK = 'e2e-worker.lock';
const CLAIM_TIMEOUT_MS = 180_000;

/** "pid start-time": a pid alone may be reused by another process after a killed worker. */
function identity(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
    // Field 22 (starttime), counted after the command name in parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return `${String(pid)} ${fields[19] ?? ''}`;
  } catch {
    return null;
  }
}

const me = identity(process.pid) ?? String(process.pid);

function alive(holder: string): boolean {
  const pid = Number(holder.split(' ')[0]);
  return Number.isInteger(pid) && pid > 0 && identity(pid) === holder;
}

/** Takes the stack's lock for this process; false when a live process holds it. */
function claim(dir: string): boolean {
  const lock = join(dir, LOCK);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, me);
      closeSync(fd);
      process.on('exit', () => {
        try {
          if (readFileSync(lock, 'utf8') === me) unlinkSync(lock);
        } catch {
          // gone already
        }
      });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder: string;
    try {
      holder = readFileSync(lock, 'utf8');
    } catch {
      continue; // released meanwhile
    }
    if (holder === me) return true;
    if (alive(holder)) return false;
    try {
      unlinkSync(lock); // its process is gone
    } catch {
      // someone else took it over first
    }
  }
  return false;
}

const pause = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

export function workerStack(): StackInfo {
  if (claimed !== null) return claimed;
  const stacks = inject('stacks');
  if (stacks.length === 0) throw new Error('no local stack was provided to this e2e worker');
  const start = Date.now();
  for (;;) {
    for (const stack of stacks) {
      if (claim(stack.dir)) {
        claimed = stack;
        process.env.PSIRT_STACK_DIR = stack.dir;
        return stack;
      }
    }
    if (Date.now() - start > CLAIM_TIMEOUT_MS)
      throw new Error(`no free local stack for this e2e process after ${String(CLAIM_TIMEOUT_MS / 1000)} s`);
    pause(200);
  }
}
