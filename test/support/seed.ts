import { randomInt } from 'node:crypto';

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

/** mulberry32: a small 32-bit PRNG; the same seed gives the same sequence in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * Runs `fn` with a seeded `random` (the seed from {@link testSeed}); prints the seed first and,
 * when `fn` fails, appends the replay line to the failure's message.
 */
export async function withTestSeed<T>(name: string, fn: (random: () => number) => Promise<T>): Promise<T> {
  const seed = testSeed();
  const replay = `replay with PSIRT_TEST_SEED=${seed}`;
  process.stdout.write(`${name}: seed ${seed} (${replay})\n`);
  try {
    return await fn(seededRandom(seed));
  } catch (err) {
    if (err instanceof Error) err.message += `\n(${name}: ${replay})`;
    throw err;
  }
}
