import { readFileSync } from 'node:fs';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import type { Config } from '../config/schema.js';
import { fail, pass, type CheckResult } from '../core/check.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { OAuth2Error, type TokenSource } from '../core/oauth2.js';

export type ImapConfig = Config['imap'];

/** How the intake logs in with imap.auth = "oauth2" (#15): where tokens come from, and the mechanism. */
export interface ImapOAuth2 {
  tokens: TokenSource;
  mechanism: Config['oauth2']['mechanism'];
}

const OTHER_MECHANISM = { xoauth2: 'AUTH=OAUTHBEARER', oauthbearer: 'AUTH=XOAUTH2' } as const;

/**
 * imapflow picks OAUTHBEARER whenever the server offers it, XOAUTH2 otherwise, with no option to
 * choose. This client hides the mechanism not configured (oauth2.mechanism) from the capability
 * list it read, just before imapflow's `authenticate()` (called by `connect()`) chooses; the
 * capability list is read again after login, so nothing else sees the difference.
 */
class MechanismImapFlow extends ImapFlow {
  readonly #hide: string;
  constructor(options: ImapFlowOptions, mechanism: ImapOAuth2['mechanism']) {
    super(options);
    this.#hide = OTHER_MECHANISM[mechanism];
  }
  async authenticate(): Promise<unknown> {
    this.capabilities.delete(this.#hide);
    const base = ImapFlow.prototype as unknown as { authenticate(this: ImapFlow): Promise<unknown> };
    return base.authenticate.call(this);
  }
}

/**
 * A new ImapFlow client for the configured mailbox. A closed client cannot reconnect
 * (imapflow `InstanceReused`), so callers create one per connection attempt. With
 * imap.auth = "oauth2", `accessToken` is the token to log in with (see `connectImap`).
 */
export function createImapClient(
  cfg: ImapConfig,
  logger: Logger | false,
  oauth?: { accessToken: string; mechanism: ImapOAuth2['mechanism'] },
): ImapFlow {
  const options: ImapFlowOptions = {
    host: cfg.host,
    port: cfg.port,
    secure: cfg.tls === 'implicit',
    doSTARTTLS: cfg.tls === 'starttls' ? true : cfg.tls === 'none' ? false : undefined,
    // A private CA is trusted through imap.tls_ca_file (read and checked by loadConfig at start).
    tls: {
      rejectUnauthorized: cfg.tls_reject_unauthorized,
      ...(cfg.tls_ca_file === '' ? {} : { ca: readFileSync(cfg.tls_ca_file) }),
    },
    auth:
      cfg.auth === 'oauth2'
        ? { user: cfg.user, accessToken: oauth?.accessToken ?? cfg.access_token ?? '' }
        : { user: cfg.user, pass: cfg.password ?? '' },
    logger,
    autoIdleDelay: cfg.auto_idle_delay_ms,
    socketTimeout: cfg.socket_timeout_seconds * 1000,
    maxIdleTime: Math.max(1000, Math.floor((cfg.socket_timeout_seconds * 1000) / 2)),
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    disableAutoEnable: false,
  };
  return cfg.auth === 'oauth2' && oauth !== undefined
    ? new MechanismImapFlow(options, oauth.mechanism)
    : new ImapFlow(options);
}

/** The server refused the login (a tagged NO to AUTHENTICATE/LOGIN), not a network failure. */
export function isLoginRefused(err: unknown): boolean {
  return (err as { authenticationFailed?: boolean } | null)?.authenticationFailed === true;
}

/**
 * The server refused an OAuth2 token even after one forced refresh: the error names the fix
 * (`TokenSource.refusedFix`), never the token.
 */
export class ImapTokenRefusedError extends OAuth2Error {
  constructor(cfg: ImapConfig, tokens: TokenSource, cause: unknown) {
    super(
      'oauth2_refused',
      `the IMAP server ${cfg.host}:${cfg.port} refused the OAuth2 token for ${cfg.user}`,
      tokens.refusedFix,
      cause,
    );
    this.name = 'ImapTokenRefusedError';
  }
}

/**
 * Creates a client and connects it (greeting, TLS, login). With OAuth2 the token comes from
 * `oauth.tokens`; a refused login gets one forced refresh and a second try, then fails with
 * `ImapTokenRefusedError`. `prepare` runs on each client before it connects (event listeners).
 */
export async function connectImap(
  cfg: ImapConfig,
  logger: Logger | false,
  oauth: ImapOAuth2 | null,
  prepare: (c: ImapFlow) => void = () => undefined,
): Promise<ImapFlow> {
  const attempt = async (force: boolean): Promise<ImapFlow> => {
    const c =
      cfg.auth === 'oauth2' && oauth !== null
        ? createImapClient(cfg, logger, {
            accessToken: await oauth.tokens.get({ force }),
            mechanism: oauth.mechanism,
          })
        : createImapClient(cfg, logger);
    prepare(c);
    try {
      await c.connect();
      return c;
    } catch (err) {
      c.close();
      throw err;
    }
  };
  if (cfg.auth !== 'oauth2' || oauth === null) return attempt(false);
  try {
    return await attempt(false);
  } catch (err) {
    if (!isLoginRefused(err)) throw err;
  }
  try {
    return await attempt(true);
  } catch (err) {
    if (isLoginRefused(err)) throw new ImapTokenRefusedError(cfg, oauth.tokens, err);
    throw err;
  }
}

/** Logs in, then checks that the mailbox and the processed/quarantine folders exist. */
export async function checkImap(cfg: ImapConfig, oauth: ImapOAuth2 | null = null): Promise<CheckResult> {
  const name = 'imap';
  const how = cfg.auth === 'oauth2' ? `, oauth2 ${oauth?.mechanism ?? 'xoauth2'}` : '';
  const where = `${cfg.user} at ${cfg.host}:${cfg.port} (tls ${cfg.tls}${how})`;
  let client: ImapFlow;
  try {
    // Errors are reported through the rejected promise.
    client = await connectImap(cfg, false, oauth, (c) => c.on('error', () => undefined));
  } catch (err) {
    if (err instanceof OAuth2Error) {
      return fail(name, `cannot log in as ${where}: ${err.reason}`, err.fix);
    }
    if (isLoginRefused(err)) {
      return fail(
        name,
        `login failed for ${where}: the server refused the credentials`,
        cfg.auth === 'oauth2'
          ? 'configure [oauth2] (README "OAuth2"), or refresh imap.access_token / PSIRT_IMAP__ACCESS_TOKEN_FILE'
          : 'check imap.user and the password (PSIRT_IMAP__PASSWORD or PSIRT_IMAP__PASSWORD_FILE)',
      );
    }
    return fail(
      name,
      `cannot connect to ${where}: ${describeError(err)}`,
      'check imap.host, imap.port and imap.tls, and that the IMAP server is running',
    );
  }
  try {
    const listed = await client.list();
    const paths = new Set(listed.map((m) => m.path.toLowerCase()));
    const wanted = [cfg.mailbox, cfg.processed_folder, cfg.quarantine_folder];
    const missing = wanted.filter((p) => !paths.has(p.toLowerCase()));
    if (missing.length > 0) {
      return fail(
        name,
        `logged in as ${where}, but folder(s) missing: ${missing.join(', ')}`,
        `create the folder(s) in the mailbox, or set imap.mailbox / imap.processed_folder / imap.quarantine_folder`,
      );
    }
    return pass(name, `logged in as ${where}; folders ${wanted.join(', ')} present`);
  } catch (err) {
    return fail(
      name,
      `logged in as ${where}, but listing folders failed: ${describeError(err)}`,
      'check the IMAP server log',
    );
  } finally {
    await client.logout().catch(() => client.close());
  }
}
