import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { checkImap } from '../../../src/1-intake/imap-client.js';
import { checkSmtp } from '../../../src/8-outbox/smtp-transport.js';
import { makePrivateCa, type PrivateCa } from '../../support/private-ca.js';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.js';

// Issue #10: TLS to an IMAP or SMTP server whose certificate a private CA signed, trusted through
// imap.tls_ca_file / smtp.tls_ca_file — the stack's real Dovecot and Postfix behind a TLS front
// with a throwaway CA made by openssl.
const stack = inject('stack');
let ca: PrivateCa;
const fronts: Partial<Record<'imap' | 'smtp', TcpProxy>> = {};

beforeAll(async () => {
  ca = makePrivateCa();
  const tls = { key: ca.key, cert: ca.cert };
  fronts.imap = await startTcpProxy(stack.host, stack.imapPort, tls);
  fronts.smtp = await startTcpProxy(stack.host, stack.smtpPort, tls);
});
afterAll(async () => {
  await fronts.imap?.close();
  await fronts.smtp?.close();
});

const configFor = (section: 'imap' | 'smtp', caFile: string) => {
  const key = section.toUpperCase();
  return loadConfig({
    env: {
      PSIRT_ENV: 'test',
      [`PSIRT_${key}__HOST`]: '127.0.0.1',
      [`PSIRT_${key}__PORT`]: String(fronts[section]?.port),
      [`PSIRT_${key}__TLS`]: 'implicit',
      [`PSIRT_${key}__TLS_CA_FILE`]: caFile,
      PSIRT_IMAP__USER: `security@${stack.domain}`,
      PSIRT_IMAP__PASSWORD: stack.password,
    },
  });
};
const check = (section: 'imap' | 'smtp', caFile: string) =>
  section === 'imap'
    ? checkImap(configFor(section, caFile).imap)
    : checkSmtp(configFor(section, caFile).smtp);

describe.each(['imap', 'smtp'] as const)('%s.tls_ca_file', (section) => {
  it('connects (and logs in) over TLS to a server with a private CA when the CA file is configured', async () => {
    expect(await check(section, ca.caFile)).toMatchObject({ ok: true });
  });

  it('refuses the same server without it (the system CAs do not know the private CA)', async () => {
    const r = await check(section, '');
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/certificate/i);
  });
});
