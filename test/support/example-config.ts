import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { KEYS_DIR, TEAM_PASSPHRASE } from './mail-fixtures.js';
import { REPO } from './stack.js';

/**
 * config/example.toml, loadable in tests. Its secrets are `*_file` keys under /run/secrets, and
 * the loader reads a TOML `_file` key before environment overrides apply (src/config/load.ts), so
 * an override cannot replace them: the copy written here differs from the example only in where
 * those files are, a temporary folder of TEST ONLY secrets.
 *   - `loadExampleConfig`: only the password and passphrase files move; the key file paths stay as
 *     written, so the configuration — and its digest, which golden documents name — is the same on
 *     every machine. The key files are not read by loadConfig: sign with `teamKey()`.
 *   - `writeExampleConfig`: every /run/secrets path moves, with the fixture team key (first, it
 *     signs) and alice's key as the older rotated one, for running `psirt --config FILE`.
 */
export interface ExampleConfig {
  config: Config;
  /** The derived TOML file (for `psirt --config`). */
  file: string;
  /** The folder of the secrets and the derived file. */
  dir: string;
}

function writeSecrets(dir: string): void {
  writeFileSync(join(dir, 'imap-password'), 'test-only-imap-password\n');
  writeFileSync(join(dir, 'smtp-password'), 'test-only-smtp-password\n');
  writeFileSync(join(dir, 'psirt-2026.pass'), `${TEAM_PASSPHRASE}\n`);
  writeFileSync(join(dir, 'psirt-2024.pass'), 'unused: the key has no passphrase\n');
}

function writeToml(dir: string, pattern: RegExp): string {
  const toml = readFileSync(join(REPO, 'config', 'example.toml'), 'utf8').replace(pattern, `$1${dir}/`);
  const file = join(dir, 'example.toml');
  writeFileSync(file, toml);
  return file;
}

/** The example runnable by the CLI: secrets and both team keys in a temporary folder. */
export function writeExampleConfig(): { file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'psirt-example-'));
  writeSecrets(dir);
  copyFileSync(join(KEYS_DIR, 'team.sec.asc'), join(dir, 'psirt-2026.asc'));
  copyFileSync(join(KEYS_DIR, 'alice.sec.asc'), join(dir, 'psirt-2024.asc'));
  return { file: writeToml(dir, /(")\/run\/secrets\//g), dir };
}

/** Loads the example with `env` overrides (PSIRT_DEADLINES__VERIFY__AMOUNT = "5", …); stable digest. */
export function loadExampleConfig(env: Record<string, string> = {}): ExampleConfig {
  const dir = mkdtempSync(join(tmpdir(), 'psirt-example-'));
  writeSecrets(dir);
  const file = writeToml(dir, /^(.*(?:password|passphrase)_file.*?")\/run\/secrets\//gm);
  return { config: loadConfig({ file, env }), file, dir };
}
