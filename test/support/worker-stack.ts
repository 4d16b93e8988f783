import { inject } from 'vitest';
import type { StackInfo } from './stack.js';

/**
 * The local stack of this e2e worker: e2e files run two at a time (vitest.config.ts), and each
 * vitest worker (VITEST_POOL_ID 1, 2, …) has a stack of its own, so two files never share a
 * mailbox, a Postfix or a Redis. Also points PSIRT_STACK_DIR at it, for the tests that call
 * test/stack/stack.sh (stop Postfix, block delivery) and for readStack().
 */
export function workerStack(): StackInfo {
  const stacks = inject('stacks');
  const pool = Number(process.env.VITEST_POOL_ID ?? '1');
  const stack = stacks[(Math.max(1, pool) - 1) % stacks.length];
  if (stack === undefined) throw new Error('no local stack was provided to this e2e worker');
  process.env.PSIRT_STACK_DIR = stack.dir;
  return stack;
}
