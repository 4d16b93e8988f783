import type { Config } from '../config/schema.js';
import { smtpAuthOf } from '../config/schema/transport.js';
import type { Logger } from '../core/log.js';
import { createTokenSource, OAuth2Error, type TokenSource } from '../core/oauth2.js';

/**
 * The process's OAuth2 token source (#15), shared by the intake and the mailer, or null when
 * neither imap.auth nor smtp.auth is "oauth2".
 */
export function serviceTokenSource(config: Config): TokenSource | null {
  if (config.imap.auth !== 'oauth2' && smtpAuthOf(config.smtp) !== 'oauth2') return null;
  return createTokenSource(config.oauth2, config.imap.access_token);
}

/**
 * At start: a refresh token the endpoint refuses, or an unusable token file, stops the start with
 * the fix (not at the first report); an endpoint that cannot be reached only warns — the logins
 * retry it. A static token cannot be checked without the server, so it is not.
 */
export async function checkTokensAtStart(tokens: TokenSource | null, log: Logger): Promise<void> {
  if (tokens === null || tokens.kind === 'static') return;
  try {
    await tokens.get();
    log.info({ event: 'oauth2.token-obtained', source: tokens.kind }, 'OAuth2 access token obtained');
  } catch (err) {
    if (err instanceof OAuth2Error && err.retryable) {
      log.warn(
        { event: 'oauth2.unavailable', err: err.message },
        'OAuth2 token endpoint unavailable; logins retry',
      );
      return;
    }
    throw err;
  }
}
