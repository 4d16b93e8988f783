import { describe, expect, it } from 'vitest';
import { settledWithin, within } from '../../../src/core/within.js';

const never = new Promise<never>(() => undefined);

describe('within', () => {
  it('passes the value through, and rejects naming what did not answer in time', async () => {
    await expect(within(Promise.resolve(7), 50, 'x')).resolves.toBe(7);
    await expect(within(never, 20, 'redis PING')).rejects.toThrow('redis PING: no answer within 20 ms');
  });
});

describe('settledWithin', () => {
  it('is true for a promise that resolves or rejects in time, false for one that hangs', async () => {
    await expect(settledWithin(Promise.resolve(), 50)).resolves.toBe(true);
    await expect(settledWithin(Promise.reject(new Error('closed')), 50)).resolves.toBe(true);
    await expect(settledWithin(never, 20)).resolves.toBe(false);
  });
});
