import { randomInt } from 'node:crypto';
import { prng } from '../../scripts/bench-corpus.js';

/**
 * Seeded randomness for tests whose random choices decide what they exercise (the kill -9 test's
 * kill times): the seed is `PSIRT_TEST_SEED` when set, a fresh one otherwise; the test prints it
 * and its failure message names it, so a failing run can be replayed (test/stack/README.md).
 */

/** The seed to use: `PSIRT_TEST_SEED` (a non-negative 32-bit integer) or a fresh random one. */
export function testSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.PSIRT_TEST_SEED;
  if (given === undefined || given === '') return randomInt(2 ** 32);
  const seed = Number(given);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw new Error(`PSIRT_TEST_SEED must be an integer in [0, 2^32), got ${JSON.stringify(given)}`);
  }
  return seed;
}

/**
 * Runs `fn` with a seeded `random` (mulberry32, the bench's PRNG) from {@link testSeed}: prints
 * the seed first and, when `fn` fails, appends the replay line to the failure's message.
 */
export async function withTestSeed<T>(name: string, fn: (random: () => number) => Promise<T>): Promise<T> {
  const seed = testSeed();
  const replay = `replay with PSIRT_TEST_SEED=${seed}`;
  process.stdout.write(`${name}: seed ${seed} (${replay})\n`);
  try {
    return await fn(prng(seed));
  } catch (err) {
    if (err instanceof Error) err.message += `\n(${name}: ${replay})`;
    throw err;
  }
}
