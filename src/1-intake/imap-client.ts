import { readFileSync } from 'node:fs';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import type { Config } from '../config/schema.js';
import { fail, pass, type CheckResult } from '../core/check.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';

export type ImapConfig = Config['imap'];

/**
 * A new ImapFlow client for the configured mailbox. A closed client cannot reconnect
 * (imapflow `InstanceReused`), so callers create one per connection attempt.
 */
export function createImapClient(cfg: ImapConfig, logger: Logger | false): ImapFlow {
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
        ? { user: cfg.user, accessToken: cfg.access_token ?? '' }
        : { user: cfg.user, pass: cfg.password ?? '' },
    logger,
    autoIdleDelay: cfg.auto_idle_delay_ms,
    socketTimeout: cfg.socket_timeout_seconds * 1000,
    maxIdleTime: Math.max(1000, Math.floor((cfg.socket_timeout_seconds * 1000) / 2)),
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    disableAutoEnable: false,
  };
  return new ImapFlow(options);
}

/** Logs in, then checks that the mailbox and the processed/quarantine folders exist. */
export async function checkImap(cfg: ImapConfig): Promise<CheckResult> {
  const name = 'imap';
  const where = `${cfg.user} at ${cfg.host}:${cfg.port} (tls ${cfg.tls})`;
  const client = createImapClient(cfg, false);
  client.on('error', () => undefined); // reported through the rejected promise below
  try {
    await client.connect();
  } catch (err) {
    const e = err as { authenticationFailed?: boolean; code?: string };
    if (e.authenticationFailed) {
      return fail(
        name,
        `login failed for ${where}: the server refused the credentials`,
        cfg.auth === 'oauth2'
          ? 'refresh the OAuth2 token (imap.access_token / PSIRT_IMAP__ACCESS_TOKEN_FILE)'
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
