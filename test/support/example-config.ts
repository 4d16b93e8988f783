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
 * an override cannot replace them: the copy written here differs from the example only in that
 * folder, which holds TEST ONLY secrets — the fixture team key (first, it signs) and alice's key
 * as the older rotated one. Everything else comes from the example, plus `env` overrides.
 */
export interface ExampleConfig {
  config: Config;
  /** The derived TOML file (for `psirt --config`). */
  file: string;
  /** The folder of the secrets and the derived file. */
  dir: string;
}

export function writeExampleConfig(): { file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'psirt-example-'));
  writeFileSync(join(dir, 'imap-password'), 'test-only-imap-password\n');
  writeFileSync(join(dir, 'smtp-password'), 'test-only-smtp-password\n');
  copyFileSync(join(KEYS_DIR, 'team.sec.asc'), join(dir, 'psirt-2026.asc'));
  writeFileSync(join(dir, 'psirt-2026.pass'), `${TEAM_PASSPHRASE}\n`);
  copyFileSync(join(KEYS_DIR, 'alice.sec.asc'), join(dir, 'psirt-2024.asc'));
  writeFileSync(join(dir, 'psirt-2024.pass'), 'unused: the key has no passphrase\n');
  const toml = readFileSync(join(REPO, 'config', 'example.toml'), 'utf8').replaceAll(
    '/run/secrets/',
    `${dir}/`,
  );
  const file = join(dir, 'example.toml');
  writeFileSync(file, toml);
  return { file, dir };
}

/** Loads the example with `env` overrides (PSIRT_DEADLINES__VERIFY__AMOUNT = "5", …). */
export function loadExampleConfig(env: Record<string, string> = {}): ExampleConfig {
  const { file, dir } = writeExampleConfig();
  return { config: loadConfig({ file, env }), file, dir };
}
