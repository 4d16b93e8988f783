import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { printableConfig } from '../../../src/config/print.js';

const secrets = {
  PSIRT_IMAP__PASSWORD: 'imap-secret-1',
  PSIRT_SMTP__USER: 'security@psirt.test',
  PSIRT_SMTP__PASSWORD: 'smtp-secret-2',
  PSIRT_REDIS__URL: 'redis://user:redis-secret-3@127.0.0.1:6379',
  PSIRT_REDIS__PASSWORD: 'redis-secret-4',
  PSIRT_PGP__KEYS__0__PASSPHRASE: 'pgp-secret-5',
};

describe('printableConfig()', () => {
  const cfg = loadConfig({ env: { PSIRT_ENV: 'test', ...secrets } });

  it.each(['toml', 'json'] as const)('contains none of the secrets as %s', (format) => {
    const text = printableConfig(cfg, format);
    for (const value of Object.values(secrets).filter((v) => v.includes('secret'))) {
      expect(text).not.toContain(value.includes('redis://') ? 'redis-secret-3' : value);
    }
    expect(text).toContain('[redacted]');
  });

  it('keeps non-secret values readable', () => {
    const text = printableConfig(cfg, 'toml');
    expect(text).toContain('user = "security@psirt.test"');
    expect(text).toContain('redis://user:***@127.0.0.1:6379');
  });

  it('masks a password given as a URL query parameter', () => {
    const c = loadConfig({
      env: {
        PSIRT_ENV: 'test',
        ...secrets,
        PSIRT_REDIS__URL: 'redis://127.0.0.1:6379/?password=qp-secret-6',
      },
    });
    expect(printableConfig(c, 'toml')).not.toContain('qp-secret-6');
  });

  it('does not change the loaded config', () => {
    printableConfig(cfg, 'json');
    expect(cfg.imap.password).toBe('imap-secret-1');
  });
});
