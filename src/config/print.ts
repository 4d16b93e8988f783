import { stringify } from 'smol-toml';
import type { Config } from './schema.js';
import { redactConfig } from './redact.js';

/** The effective configuration as TOML (or JSON), secrets redacted. */
export function printableConfig(config: Config, format: 'toml' | 'json'): string {
  const redacted = redactConfig(config) as Record<string, unknown>;
  return format === 'json' ? JSON.stringify(redacted, null, 2) : stringify(redacted);
}
