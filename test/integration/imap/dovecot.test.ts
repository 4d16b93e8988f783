import { describe, expect, inject, it } from 'vitest';
import { checkImap } from '../../../src/1-intake/imap-client.js';
import { loadConfig } from '../../../src/config/load.js';
import { openMailbox } from '../../support/mailbox.js';
import { stackEnv } from '../../support/stack.js';

const stack = inject('stack');

describe('the local stack Dovecot', () => {
  it('lets security@ log in and shows the INBOX, Processed and Quarantine folders', async () => {
    const client = await openMailbox(stack, 'security');
    try {
      const paths = (await client.list()).map((m) => m.path);
      expect(paths).toEqual(expect.arrayContaining(['INBOX', 'Processed', 'Quarantine']));
    } finally {
      await client.logout();
    }
  });

  it('refuses a wrong password', async () => {
    await expect(openMailbox(stack, 'security', 'wrong-password')).rejects.toMatchObject({
      authenticationFailed: true,
    });
  });
});

describe('checkImap()', () => {
  it('passes against the stack with the test profile', async () => {
    const cfg = loadConfig({ env: stackEnv(stack) });
    await expect(checkImap(cfg.imap)).resolves.toMatchObject({ ok: true });
  });

  it('names a missing folder', async () => {
    const cfg = loadConfig({ env: stackEnv(stack, { PSIRT_IMAP__QUARANTINE_FOLDER: 'NoSuchFolder' }) });
    const result = await checkImap(cfg.imap);
    expect(result).toMatchObject({ ok: false });
    expect(result.detail).toContain('folder(s) missing: NoSuchFolder');
  });
});
