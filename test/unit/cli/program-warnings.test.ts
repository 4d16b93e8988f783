import { describe, expect, it } from 'vitest';
import { programWarnings } from '../../../src/cli/program.js';
import { loadExampleConfig } from '../../support/example-config.js';

/** `psirt program` warns where the documents promise what the set-up cannot keep (#12 trial). */
describe('programWarnings()', () => {
  const fingerprint = '70391E1F60DD1FCF4E665A800F2409846A82D91C';

  it('warns when the signing key expires before security.txt does', () => {
    const { config } = loadExampleConfig(); // expires 2027-10-31T23:00:00Z
    const early = programWarnings(config, { fingerprint, expires: new Date('2027-01-01T00:00:00Z') });
    expect(early).toEqual([
      expect.stringMatching(/expires 2027-01-01T00:00:00.000Z, before security\.txt's Expires/),
    ]);
    expect(programWarnings(config, { fingerprint, expires: new Date('2028-01-01T00:00:00Z') })).toEqual([]);
    expect(programWarnings(config, { fingerprint, expires: null })).toEqual([]);
  });

  it('warns when no security staff member can send commands', () => {
    const { config } = loadExampleConfig();
    for (const m of config.staff) delete m.key_file;
    expect(programWarnings(config, { fingerprint, expires: null })).toEqual([
      expect.stringMatching(/no security staff member can send commands/),
    ]);
  });
});
