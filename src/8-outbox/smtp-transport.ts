import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import type { Config } from '../config/schema.js';
import { fail, pass, type CheckResult } from '../core/check.js';
import { describeError } from '../core/errors.js';

export type SmtpConfig = Config['smtp'];

/** The connection fields of a route: [smtp], or [smtp_fallback] (#15). */
export type SmtpRoute = Pick<
  SmtpConfig,
  'host' | 'port' | 'tls' | 'tls_reject_unauthorized' | 'tls_ca_file' | 'user' | 'password' | 'pool_size'
>;

/** A pooled nodemailer SMTP transport. nodemailer never retries: the outbox worker does. */
export function createSmtpTransport(cfg: SmtpRoute) {
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
    ...(cfg.user ? { auth: { user: cfg.user, pass: cfg.password ?? '' } } : {}),
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

/** Connects, says EHLO, negotiates TLS and authenticates as configured, then disconnects. */
export async function checkSmtp(cfg: SmtpConfig): Promise<CheckResult> {
  const name = 'smtp';
  const where = `${cfg.host}:${cfg.port} (tls ${cfg.tls}${cfg.user ? `, user ${cfg.user}` : ', no auth'})`;
  const transport = createSmtpTransport(cfg);
  try {
    await transport.verify();
    return pass(name, `connected to ${where}`);
  } catch (err) {
    const code = (err as { code?: string }).code;
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
