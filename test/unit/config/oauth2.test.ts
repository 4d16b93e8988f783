import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { redactConfig } from '../../../src/config/redact.js';

/** #15: the [oauth2] section, imap.auth / smtp.auth = "oauth2", and the secrets it holds. */

const base = { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'pw' };
const endpoint = {
  PSIRT_OAUTH2__TOKEN_ENDPOINT: 'https://login.example.com/token',
  PSIRT_OAUTH2__CLIENT_ID: 'client',
};

function issuesFor(env: Record<string, string>): string[] {
  try {
    loadConfig({ env });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error('expected the configuration to be refused');
}

describe('[oauth2] configuration', () => {
  it('reads the refresh token and client secret from files and redacts them on print', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psirt-oauth2-'));
    writeFileSync(join(dir, 'rt'), 'the-refresh-token\n');
    writeFileSync(join(dir, 'cs'), 'the-client-secret\n');
    const cfg = loadConfig({
      env: {
        ...base,
        ...endpoint,
        PSIRT_IMAP__AUTH: 'oauth2',
        PSIRT_SMTP__AUTH: 'oauth2',
        PSIRT_SMTP__USER: 'security@psirt.test',
        PSIRT_OAUTH2__REFRESH_TOKEN_FILE: join(dir, 'rt'),
        PSIRT_OAUTH2__CLIENT_SECRET_FILE: join(dir, 'cs'),
      },
    });
    expect(cfg.oauth2.refresh_token).toBe('the-refresh-token');
    expect(cfg.oauth2.client_secret).toBe('the-client-secret');
    const printed = JSON.stringify(redactConfig(cfg));
    expect(printed).not.toContain('the-refresh-token');
    expect(printed).not.toContain('the-client-secret');
  });

  it('refuses http to a host that is not loopback, both sources at once, and a missing refresh token', () => {
    const issues = issuesFor({
      ...base,
      PSIRT_OAUTH2__TOKEN_ENDPOINT: 'http://login.example.com/token',
      PSIRT_OAUTH2__TOKEN_FILE: '/run/token',
    });
    expect(issues.join('\n')).toMatch(/oauth2.token_endpoint: http sends the refresh token in clear/);
    expect(issues.join('\n')).toMatch(/oauth2.token_file: set either/);
    expect(issues.join('\n')).toMatch(/oauth2.refresh_token: is required with oauth2.token_endpoint/);
    expect(issues.join('\n')).toMatch(/oauth2.client_id: is required/);
    // http to loopback is fine (the local stack's endpoint).
    expect(() =>
      loadConfig({
        env: {
          ...base,
          ...endpoint,
          PSIRT_OAUTH2__TOKEN_ENDPOINT: 'http://127.0.0.1:9/token',
          PSIRT_OAUTH2__REFRESH_TOKEN: 'x',
        },
      }),
    ).not.toThrow();
  });

  it('auth = "oauth2" needs a token source; smtp needs a user', () => {
    const issues = issuesFor({ ...base, PSIRT_IMAP__AUTH: 'oauth2', PSIRT_SMTP__AUTH: 'oauth2' });
    expect(issues.join('\n')).toMatch(/imap.auth: "oauth2" needs oauth2.token_endpoint/);
    expect(issues.join('\n')).toMatch(/smtp.auth: "oauth2" needs oauth2.token_endpoint/);
    expect(issues.join('\n')).toMatch(/smtp.user: is required when smtp.auth = "oauth2"/);
    // The static token of earlier versions still satisfies IMAP.
    expect(() =>
      loadConfig({ env: { ...base, PSIRT_IMAP__AUTH: 'oauth2', PSIRT_IMAP__ACCESS_TOKEN: 'tok' } }),
    ).not.toThrow();
  });
});
