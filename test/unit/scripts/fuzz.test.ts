import { describe, expect, it } from 'vitest';
import { runFuzz } from '../../../scripts/fuzz.js';

// #10 item 4: a short fixed-seed run of `npm run fuzz`, so the class of bugs it found — throws
// escaping decode (also from stream handlers), super-linear parsing — stays fixed.
describe('the decode-path fuzzer (npm run fuzz)', () => {
  it(
    'finds no exception escaping decode in 200 mutated fixtures (seed 10)',
    { timeout: 120_000 },
    async () => {
      const report = await runFuzz({ n: 200, seed: 10, slowMs: 60_000, outDir: null });
      expect(report.escapes).toEqual([]);
    },
  );
});
