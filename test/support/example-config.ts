import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { TEAM_PASSPHRASE } from './gpg.js';
import { REPO } from './stack.js';

/**
 * `config/example.toml` as a deployment would load it, with its /run/secrets files made up in a
 * temporary folder: the fixture team key's passphrase (TEST ONLY) for the 2026 key, none for the
 * 2024 one, "x" as the IMAP and SMTP passwords. The key files are not read by loadConfig: sign
 * with the fixture team key (`teamKey()` in mail-fixtures.ts). NB! loadConfig reads every `*_file` secret of a file layer
 * before the environment overrides apply, so `PSIRT_IMAP__PASSWORD` cannot stand in for the
 * example's `password_file`: the files have to exist. `env` adds PSIRT_ overrides on top.
 */
export function loadExampleConfig(env: Record<string, string> = {}): Config {
  const dir = mkdtempSync(join(tmpdir(), 'psirt-example-'));
  writeFileSync(join(dir, 'imap-password'), 'x\n');
  writeFileSync(join(dir, 'smtp-password'), 'x\n');
  writeFileSync(join(dir, 'psirt-2026.pass'), `${TEAM_PASSPHRASE}\n`);
  writeFileSync(join(dir, 'psirt-2024.pass'), '\n');
  // Only the secret files move: the key file paths stay as written, so the configuration (and its
  // digest, which the golden documents name) is the same on every machine.
  const text = readFileSync(join(REPO, 'config', 'example.toml'), 'utf8').replace(
    /^(.*(?:password|passphrase)_file.*?")\/run\/secrets\//gm,
    `$1${dir}/`,
  );
  const file = join(dir, 'example.toml');
  writeFileSync(file, text);
  return loadConfig({ file, env });
}
