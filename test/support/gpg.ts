import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './stack.js';

export const KEYS = join(REPO, 'test', 'fixtures', 'keys');
export const TEAM_PASSPHRASE = 'test-only-team-passphrase';

/** Non-interactive gpg that unlocks the TEST ONLY team key without a pinentry. */
const BASE_ARGS = ['--batch', '--pinentry-mode', 'loopback', '--passphrase', TEAM_PASSPHRASE];

/** Runs the real gpg in a throwaway GNUPGHOME holding the given fixture keys (e.g. `reporter1.sec`). */
export function withGpg<T>(
  keys: string[],
  fn: (gpg: (args: string[], input?: Buffer | string) => { stdout: string; status: string }) => T,
): T {
  const home = mkdtempSync(join(tmpdir(), 'psirt-gpg-'));
  try {
    const env = { ...process.env, GNUPGHOME: home };
    for (const k of keys) {
      execFileSync('gpg', [...BASE_ARGS, '--import', join(KEYS, `${k}.asc`)], {
        env,
        stdio: 'ignore',
      });
    }
    return fn((args, input) => {
      const statusFile = join(home, 'status');
      writeFileSync(statusFile, '');
      let stdout: string;
      try {
        stdout = execFileSync(
          'gpg',
          [...BASE_ARGS, '--trust-model', 'always', '--status-file', statusFile, ...args],
          { env, input: input ?? '', stdio: ['pipe', 'pipe', 'ignore'] },
        ).toString();
      } catch (err) {
        stdout = String((err as { stdout?: Buffer }).stdout ?? '');
      }
      return { stdout, status: execFileSync('cat', [statusFile]).toString() };
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
