import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { checkCommandAuth } from '../../../src/cli/doctor.js';

const config = loadConfig({ env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'x' } });

describe('doctor: staff commands', () => {
  it('passes when security staff have a key', () => {
    expect(checkCommandAuth(config)).toEqual({
      name: 'staff commands',
      ok: true,
      detail: '3 of 3 staff can send commands',
    });
  });

  it('names members without a key, and fails when no security member can command', () => {
    const staff = config.staff.map((m) => (m.roles.includes('security') ? { ...m, key_file: undefined } : m));
    const r = checkCommandAuth({ ...config, staff });
    expect(r.ok).toBe(false);
    expect(r.detail).toBe('1 of 3 staff can send commands (not: alice@psirt.test, carol@psirt.test)');
  });

  it('counts everyone when DKIM by a trusted MTA is enabled', () => {
    const staff = config.staff.map((m) => ({ ...m, key_file: undefined }));
    const commands = { ...config.commands, trusted_authserv_ids: ['mx.psirt.test'] };
    expect(checkCommandAuth({ ...config, staff, commands }).ok).toBe(true);
  });
});
