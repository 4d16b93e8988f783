import { describe, expect, it } from 'vitest';
import { parseCaseIdFormat } from '../../../src/core/case-id.js';

describe('parseCaseIdFormat()', () => {
  it('formats the default SEC-{year}-{seq:4}', () => {
    expect(parseCaseIdFormat('SEC-{year}-{seq:4}').format(2026, 42)).toBe('SEC-2026-0042');
  });

  it('lets the sequence outgrow its padding instead of wrapping', () => {
    expect(parseCaseIdFormat('SEC-{year}-{seq:4}').format(2026, 123456)).toBe('SEC-2026-123456');
  });

  it('builds a pattern that matches its own ids and nothing looser', () => {
    const f = parseCaseIdFormat('PSIRT_{seq:3}');
    const re = new RegExp(`^${f.pattern}$`);
    expect(re.test(f.format(2026, 7))).toBe(true);
    expect(re.test('PSIRT_07')).toBe(false);
    expect(re.test('PSIRT_007x')).toBe(false);
    expect(f.hasYear).toBe(false);
  });

  it.each([
    ['SEC-{year}', /exactly once/],
    ['{seq}-{seq}', /exactly once/],
    ['SEC {seq}', /only letters, digits/],
    ['[SEC]-{seq}', /only letters, digits/],
    ['SEC-{year}-{year}-{seq}', /at most once/],
    ['SEC-{seq:0}', /1 ≤ N ≤ 9/],
    ['SEC-{year:2}-{seq}', /takes no width/],
  ])('refuses %s', (format, why) => {
    expect(() => parseCaseIdFormat(format)).toThrow(why);
  });
});
