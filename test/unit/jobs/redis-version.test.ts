import { describe, expect, it } from 'vitest';
import { MIN_REDIS_VERSION, versionAtLeast } from '../../../src/jobs/redis.js';

describe('versionAtLeast()', () => {
  it.each([
    ['6.2.0', true],
    ['7.0.15', true],
    ['6.2', true],
    ['10.0.0', true],
    ['6.0.16', false],
    ['5.0.14', false],
    ['garbage', false],
  ])('%s ≥ 6.2.0 is %s', (version, expected) => {
    expect(versionAtLeast(version, MIN_REDIS_VERSION)).toBe(expected);
  });
});
