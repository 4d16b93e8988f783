import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { redactConfig } from '../../../src/config/redact.js';

const base = { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'imap-secret' };

function issuesFor(env: Record<string, string>): string[] {
  try {
    loadConfig({ env: { ...base, ...env } });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  return [];
}

describe('[http] configuration (#15)', () => {
  it('refuses a non-loopback bind without a token, naming http.bearer_token', () => {
    const issues = issuesFor({ PSIRT_HTTP__ENABLED: 'true', PSIRT_HTTP__BIND: '0.0.0.0' });
    expect(issues.join('\n')).toMatch(
      /^http\.bearer_token: is required when http\.bind is not a loopback address/m,
    );
  });

  it('accepts a non-loopback bind with a token, and a loopback bind without one', () => {
    expect(
      issuesFor({
        PSIRT_HTTP__ENABLED: 'true',
        PSIRT_HTTP__BIND: '0.0.0.0',
        PSIRT_HTTP__BEARER_TOKEN: 'a-long-enough-token-1234',
      }),
    ).toEqual([]);
    expect(issuesFor({ PSIRT_HTTP__ENABLED: 'true', PSIRT_HTTP__BIND: '127.0.0.1' })).toEqual([]);
  });

  it('redacts the token when the configuration is printed', () => {
    const cfg = loadConfig({ env: { ...base, PSIRT_HTTP__BEARER_TOKEN: 'a-long-enough-token-1234' } });
    expect(cfg.http.bearer_token).toBe('a-long-enough-token-1234');
    expect(JSON.stringify(redactConfig(cfg))).not.toContain('a-long-enough-token-1234');
  });

  it('is enabled on 127.0.0.1:9479 by default', () => {
    const cfg = loadConfig({
      env: { PSIRT_IMAP__PASSWORD: 'x', PSIRT_ENV: 'test', PSIRT_HTTP__ENABLED: 'true' },
    });
    expect([cfg.http.bind, cfg.http.port]).toEqual(['127.0.0.1', 9479]);
  });
});
