import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import type { SMTPPoolOptions } from 'nodemailer/lib/smtp-pool';
import type { Config } from '../config/schema.js';
import { fail, pass, type CheckResult } from '../core/check.js';
import { describeError } from '../core/errors.js';
import { OAuth2Error, type TokenSource } from '../core/oauth2.js';
import { smtpAuthOf } from '../config/schema/transport.js';
import type { RejectedRecipient } from '../7-cases/outbox-store.js';

export type SmtpConfig = Config['smtp'];

/**
 * The connection fields of a route: [smtp], or [smtp_fallback] (#15), whose authentication is a
 * password or none (`auth` unset: inferred from `user`).
 */
export type SmtpRoute = Pick<
  SmtpConfig,
  'host' | 'port' | 'tls' | 'tls_reject_unauthorized' | 'tls_ca_file' | 'user' | 'password' | 'pool_size'
> & { auth?: SmtpConfig['auth'] };

/**
 * nodemailer's SMTP authentication for the configured `smtp.auth`. OAuth2 (#15) is XOAUTH2 with
 * nodemailer's provisioning callback: each login asks the shared token source (which caches and
 * refreshes); after a refused token nodemailer asks once more with `renew` — a forced refresh —
 * and then fails the login. The expiry handed back is "now", so nodemailer keeps no token of its
 * own and every login asks the source.
 */
function smtpAuth(cfg: SmtpRoute, tokens: TokenSource | null): Pick<SMTPPoolOptions, 'auth'> {
  switch (smtpAuthOf(cfg)) {
    case 'none':
      return {};
    case 'password':
      return { auth: { user: cfg.user ?? '', pass: cfg.password ?? '' } };
    case 'oauth2': {
      if (tokens === null) throw new Error('smtp.auth = "oauth2" needs a token source ([oauth2])');
      return {
        auth: {
          type: 'OAuth2',
          user: cfg.user ?? '',
          provisionCallback: (
            _user: string,
            renew: boolean,
            cb: (err: Error | null, accessToken?: string, expires?: number) => void,
          ) => {
            tokens.get({ force: renew }).then(
              (token) => cb(null, token, Date.now()),
              (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
            );
          },
        },
      };
    }
  }
}

/** A pooled nodemailer SMTP transport. nodemailer never retries: the outbox worker does. */
export function createSmtpTransport(cfg: SmtpRoute, tokens: TokenSource | null = null) {
  return nodemailer.createTransport({
    host: cfg.host,
    port: cfg.port,
    secure: cfg.tls === 'implicit',
    requireTLS: cfg.tls === 'starttls',
    ignoreTLS: cfg.tls === 'none',
    // A private CA is trusted through smtp.tls_ca_file (read and checked by loadConfig at start).
    tls: {
      rejectUnauthorized: cfg.tls_reject_unauthorized,
      ...(cfg.tls_ca_file === '' ? {} : { ca: readFileSync(cfg.tls_ca_file) }),
    },
    ...smtpAuth(cfg, tokens),
    pool: true,
    maxConnections: cfg.pool_size,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
    logger: false,
  });
}

export type SmtpTransport = ReturnType<typeof createSmtpTransport>;

/** The second route (#15), or null when [smtp_fallback] is not enabled. */
export function createFallbackTransport(cfg: Config['smtp_fallback']): SmtpTransport | null {
  if (!cfg.enabled) return null;
  return createSmtpTransport({ ...cfg, pool_size: 1 });
}

/**
 * True when the relay itself did not answer (#15): refused or reset connection, timeout, no or a
 * broken greeting, DNS — as opposed to an answer that refused this mail (4xx/5xx to a command).
 * nodemailer's codes: ECONNECTION, ESOCKET, ETIMEDOUT, EDNS; a greeting refused with 421 carries
 * command CONN.
 */
export function isConnectionFailure(err: unknown): boolean {
  const { code, command, responseCode } = (err ?? {}) as {
    code?: unknown;
    command?: unknown;
    responseCode?: unknown;
  };
  if (code === 'ECONNECTION' || code === 'ESOCKET' || code === 'ETIMEDOUT' || code === 'EDNS') return true;
  if (
    typeof code === 'string' &&
    ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)
  )
    return true;
  return command === 'CONN' && typeof responseCode === 'number' && responseCode >= 400 && responseCode < 500;
}

/**
 * True when the relay answered but will not let us send (#15): it refused our login (`EAUTH`:
 * a revoked password, an expired or refused OAuth2 token), or the token source could not give
 * one (OAuth2Error; nodemailer re-labels it EAUTH and keeps the object). No mail leaves while it
 * lasts, so the relay watch counts it as the relay being unusable, not as an answer.
 */
export function isAuthFailure(err: unknown): boolean {
  return err instanceof OAuth2Error || (err as { code?: unknown } | null)?.code === 'EAUTH';
}

/** The relay watch's view of a failed send (#15): unusable (down, or login refused) or answered. */
export function relayUnusable(err: unknown): boolean {
  return isConnectionFailure(err) || isAuthFailure(err);
}

/**
 * What the relay-down alarm and its log lines say of a failure: never an OAuth2 token, a
 * password or a server's text about the login — only that it was refused.
 */
export function relayProblem(err: unknown): string {
  return isAuthFailure(err) ? 'authentication refused' : describeError(err).slice(0, 200);
}

/** Connects, says EHLO, negotiates TLS and authenticates as configured, then disconnects. */
export async function checkSmtp(cfg: SmtpConfig, tokens: TokenSource | null = null): Promise<CheckResult> {
  const name = 'smtp';
  const auth = smtpAuthOf(cfg);
  const how =
    auth === 'none' ? ', no auth' : `, user ${cfg.user ?? ''}${auth === 'oauth2' ? ', oauth2 xoauth2' : ''}`;
  const where = `${cfg.host}:${cfg.port} (tls ${cfg.tls}${how})`;
  const transport = createSmtpTransport(cfg, tokens);
  try {
    await transport.verify();
    return pass(name, `connected to ${where}`);
  } catch (err) {
    const code = (err as { code?: string }).code;
    // The token source failed (nodemailer re-labels its error EAUTH, and keeps the object).
    if (err instanceof OAuth2Error) return fail(name, `cannot log in at ${where}: ${err.reason}`, err.fix);
    if (code === 'EAUTH' && auth === 'oauth2' && tokens !== null) {
      return fail(
        name,
        `the SMTP server ${cfg.host}:${cfg.port} refused the OAuth2 token for ${cfg.user ?? ''}`,
        tokens.refusedFix,
      );
    }
    if (code === 'EAUTH') {
      return fail(
        name,
        `authentication failed at ${where}`,
        'check smtp.user and the password (PSIRT_SMTP__PASSWORD or PSIRT_SMTP__PASSWORD_FILE)',
      );
    }
    return fail(
      name,
      `cannot use ${where}: ${describeError(err)}`,
      'check smtp.host, smtp.port and smtp.tls, and that the SMTP server is running',
    );
  } finally {
    transport.close();
  }
}

/**
 * The recipients of a sent mail the relay refused (#16): nodemailer sends to the recipients an
 * SMTP server accepted when it refused only some at RCPT TO (an LMTP server may refuse some
 * after DATA), resolves, and lists the others in `rejected`, each with its error (reply code and
 * text) in `rejectedErrors`. When it refused all of them nodemailer throws instead (EENVELOPE).
 * Addresses are given back as `recipients` spells them; a refusal with no reply code counts as
 * transient.
 */
export function rejectedRecipients(
  recipients: readonly string[],
  info: { rejected?: unknown; rejectedErrors?: unknown },
): RejectedRecipient[] {
  const rejected = Array.isArray(info.rejected) ? info.rejected.filter((a) => typeof a === 'string') : [];
  const errors = (Array.isArray(info.rejectedErrors) ? info.rejectedErrors : []) as {
    recipient?: unknown;
    responseCode?: unknown;
    response?: unknown;
    message?: unknown;
  }[];
  const out: RejectedRecipient[] = [];
  for (const a of rejected) {
    const address = recipients.find((r) => r.toLowerCase() === a.toLowerCase());
    if (address === undefined || out.some((o) => o.address === address)) continue;
    const err = errors.find(
      (e) => typeof e.recipient === 'string' && e.recipient.toLowerCase() === a.toLowerCase(),
    );
    const code = typeof err?.responseCode === 'number' ? err.responseCode : null;
    const reply =
      typeof err?.response === 'string'
        ? err.response
        : typeof err?.message === 'string'
          ? err.message
          : 'refused';
    out.push({
      address,
      permanent: code !== null && code >= 500 && code < 600,
      error: `${address}: ${reply}`.slice(0, 300),
    });
  }
  return out;
}
