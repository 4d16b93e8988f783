import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { checkImap, connectImap, ImapTokenRefusedError } from '../../../src/1-intake/imap-client.js';
import { checkSmtp, createSmtpTransport } from '../../../src/8-outbox/smtp-transport.js';
import { loadConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { createTokenSource, OAuth2Error, type TokenSource } from '../../../src/core/oauth2.js';
import { waitForMessage } from '../../support/mailbox.js';
import { address, stackEnv } from '../../support/stack.js';

/**
 * #15 acceptance: XOAUTH2 (and OAUTHBEARER) logins to the stack's Dovecot through its oauth2
 * passdb, and SMTP AUTH XOAUTH2 on the Postfix submission port (checked by Dovecot), with tokens
 * from the stack's test token endpoint (test/stack/oauth2-server.mjs): refreshed when they are
 * due, and once more when the server refuses them; a wrong refresh token is a clear error.
 */

const stack = inject('stack');
let config: Config;

interface Stats {
  grants: number;
  introspections: number;
  refused: number;
}
const stats = async (): Promise<Stats> =>
  (await (await fetch(`${stack.oauth2.baseUrl}/stats`)).json()) as Stats;
const revokeAll = async (): Promise<void> => {
  await fetch(`${stack.oauth2.baseUrl}/revoke`, { method: 'POST' });
};

function settings(overrides: Partial<Config['oauth2']> = {}): Config['oauth2'] {
  return {
    ...config.oauth2,
    token_endpoint: stack.oauth2.tokenUrl,
    client_id: stack.oauth2.clientId,
    client_secret: stack.oauth2.clientSecret,
    refresh_token: stack.oauth2.refreshToken,
    ...overrides,
  };
}

const imapCfg = (): Config['imap'] => ({ ...config.imap, auth: 'oauth2', password: undefined });
const smtpCfg = (): Config['smtp'] => ({
  ...config.smtp,
  port: stack.submissionPort,
  auth: 'oauth2',
  user: address(stack, 'security'),
});

/** Dovecot's login lines since `from` (its log names the SASL mechanism of each login). */
const dovecotLog = (from: number): string =>
  readFileSync(join(stack.dir, 'logs', 'dovecot.log'), 'utf8').slice(from);
const logSize = (): number => readFileSync(join(stack.dir, 'logs', 'dovecot.log'), 'utf8').length;

async function loginImap(tokens: TokenSource, mechanism: 'xoauth2' | 'oauthbearer' = 'xoauth2') {
  const c = await connectImap(imapCfg(), false, { tokens, mechanism }, (x) => x.on('error', () => undefined));
  const status = await c.status('INBOX', { messages: true });
  await c.logout();
  return status;
}

beforeAll(() => {
  config = loadConfig({ env: stackEnv(stack) });
});

describe('OAuth2 against the local stack', () => {
  it('logs in to Dovecot IMAP with XOAUTH2 and with OAUTHBEARER, as oauth2.mechanism says', async () => {
    const tokens = createTokenSource(settings(), undefined) as TokenSource;
    const before = await stats();
    const from = logSize();
    expect(await loginImap(tokens, 'xoauth2')).not.toBe(false);
    expect(await loginImap(tokens, 'oauthbearer')).not.toBe(false);
    const after = await stats();
    // One grant serves both logins (cached), each login was introspected by Dovecot.
    expect(after.grants - before.grants).toBe(1);
    expect(after.introspections - before.introspections).toBeGreaterThanOrEqual(2);
    const lines = dovecotLog(from);
    expect(lines).toMatch(/imap-login: (Info: )?Login: user=<security>, method=XOAUTH2,/);
    expect(lines).toMatch(/imap-login: (Info: )?Login: user=<security>, method=OAUTHBEARER,/);
  });

  it('refreshes a token that is due, and the next IMAP and SMTP logins use the new one', async () => {
    let now = Date.now();
    const tokens = createTokenSource(settings(), undefined, { now: () => now }) as TokenSource;
    const g0 = (await stats()).grants;
    await loginImap(tokens);
    expect((await stats()).grants - g0).toBe(1);
    // The provider forgets every token issued so far, and the source's clock passes the token's
    // lifetime: the next login must use a NEW token. Had it reused the old one, Dovecot would have
    // refused it and the forced refresh would have made two grants, not one.
    await revokeAll();
    now += stack.oauth2.lifetimeSeconds * 1000;
    await loginImap(tokens);
    expect((await stats()).grants - g0).toBe(2);

    // SMTP AUTH XOAUTH2 on the submission port, token from the same source; the mail arrives.
    await revokeAll();
    now += stack.oauth2.lifetimeSeconds * 1000;
    const transport = createSmtpTransport(smtpCfg(), tokens);
    const messageId = `<oauth2-${randomUUID()}@psirt.test>`;
    try {
      await transport.sendMail({
        envelope: { from: address(stack, 'security'), to: [address(stack, 'reporter1')] },
        raw: `From: ${address(stack, 'security')}\r\nTo: ${address(stack, 'reporter1')}\r\nSubject: oauth2 submission\r\nMessage-ID: ${messageId}\r\n\r\nsent over XOAUTH2\r\n`,
      });
    } finally {
      transport.close();
    }
    expect((await stats()).grants - g0).toBe(3);
    const raw = await waitForMessage(stack, 'reporter1', messageId);
    expect(raw.toString()).toContain('sent over XOAUTH2');
    expect(readFileSync(join(stack.dir, 'logs', 'postfix.log'), 'utf8')).toMatch(
      /postfix\/submission\/smtpd\[\d+\]: .*sasl_method=XOAUTH2, sasl_username=security/,
    );
  });

  it('asks for one new token when the server refuses the cached one (IMAP and SMTP)', async () => {
    const tokens = createTokenSource(settings(), undefined) as TokenSource;
    await loginImap(tokens);
    const g0 = (await stats()).grants;
    await revokeAll(); // the cached token is not due yet, but the server no longer accepts it
    await loginImap(tokens);
    expect((await stats()).grants - g0).toBe(1);
    await revokeAll();
    expect((await checkSmtp(smtpCfg(), tokens)).ok).toBe(true);
    expect((await stats()).grants - g0).toBe(2);
  });

  it('a wrong refresh token is a clear error naming the fix: login, doctor imap and smtp lines', async () => {
    const bad = createTokenSource(
      settings({ refresh_token: 'not-the-refresh-token' }),
      undefined,
    ) as TokenSource;
    const err = await connectImap(imapCfg(), false, { tokens: bad, mechanism: 'xoauth2' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OAuth2Error);
    expect((err as Error).message).toMatch(/refused the refresh token \(invalid_grant/);
    expect((err as Error).message).toContain('PSIRT_OAUTH2__REFRESH_TOKEN_FILE');
    expect((err as Error).message).not.toContain('not-the-refresh-token');

    const imap = await checkImap(imapCfg(), { tokens: bad, mechanism: 'xoauth2' });
    expect(imap.ok).toBe(false);
    expect(imap.detail).toContain('invalid_grant');
    expect(imap.fix).toContain('oauth2.refresh_token');
    const smtp = await checkSmtp(smtpCfg(), bad);
    expect(smtp.ok).toBe(false);
    expect(smtp.detail).toContain('invalid_grant');
    expect(smtp.fix).toContain('oauth2.refresh_token');

    const wrongClient = createTokenSource(settings({ client_secret: 'wrong' }), undefined) as TokenSource;
    const c = await checkImap(imapCfg(), { tokens: wrongClient, mechanism: 'xoauth2' });
    expect(c.detail).toContain('invalid_client');
    expect(c.fix).toContain('oauth2.client_secret');
  });

  it('a static token the server refuses says to configure a refreshing source', async () => {
    const tokens = createTokenSource(settings({ token_endpoint: '' }), 'expired-static-token') as TokenSource;
    const err = await connectImap(imapCfg(), false, { tokens, mechanism: 'xoauth2' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ImapTokenRefusedError);
    expect((err as Error).message).toContain('refused the OAuth2 token for security@psirt.test');
    expect((err as Error).message).toContain('[oauth2] token_endpoint');
    expect((err as Error).message).not.toContain('expired-static-token');
  });
});
