import { afterEach, describe, expect, it, vi } from 'vitest';
import { testSeed, withTestSeed } from '../../support/seed.js';

describe('testSeed()', () => {
  it('takes PSIRT_TEST_SEED when set, so a failing run can be replayed', () => {
    expect(testSeed({ PSIRT_TEST_SEED: '3684261597' })).toBe(3684261597);
  });

  it('refuses a seed that is no 32-bit integer, naming the variable', () => {
    for (const bad of ['x', '-1', '1.5', String(2 ** 32)])
      expect(() => testSeed({ PSIRT_TEST_SEED: bad })).toThrow(/PSIRT_TEST_SEED must be an integer/);
  });
});

describe('withTestSeed()', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('gives the same random choices for the same seed, and prints the seed', async () => {
    vi.stubEnv('PSIRT_TEST_SEED', '42');
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const draw = (random: () => number) => Promise.resolve([random(), random(), random()]);
    const first = await withTestSeed('t', draw);
    expect(await withTestSeed('t', draw)).toEqual(first);
    expect(new Set(first).size).toBe(3);
    expect(out).toHaveBeenCalledWith('t: seed 42 (replay with PSIRT_TEST_SEED=42)\n');
  });

  it('names the seed in the failure message', async () => {
    vi.stubEnv('PSIRT_TEST_SEED', '7');
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    await expect(
      withTestSeed('t', () => Promise.reject(new Error('expected 199 to be 200'))),
    ).rejects.toThrow('expected 199 to be 200\n(t: replay with PSIRT_TEST_SEED=7)');
  });
});
