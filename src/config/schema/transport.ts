import { z } from 'zod';
import { email, nonEmpty, port, positiveInt } from './fields.js';

/** The two mail servers we talk to: IMAP (intake) and SMTP (the mailer), and what they share. */

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/i;

/** `tls`: "implicit" (IMAPS 993 / SMTPS 465), "starttls" (upgrade required), "none" (loopback only). */
const tlsMode = z.enum(['implicit', 'starttls', 'none']);

/** The connection fields of both servers, first in each section (their order is the printed order). */
const connection = {
  host: nonEmpty,
  port,
  tls: tlsMode,
  tls_reject_unauthorized: z.boolean(),
  /** PEM file of the CA(s) that signed the server certificate (a private CA); "" = system CAs. */
  tls_ca_file: z.string(),
  allow_insecure: z.boolean(),
};

/** The refinement of both sections: cleartext (`tls = "none"`) only to a loopback host, unless allowed. */
const noCleartextOffLoopback = z.superRefine(
  (v: { host: string; tls: string; allow_insecure: boolean }, ctx) => {
    if (v.tls === 'none' && !LOOPBACK.test(v.host) && !v.allow_insecure) {
      ctx.addIssue({
        code: 'custom',
        path: ['tls'],
        message: `"none" sends the password in clear to ${v.host}; use "implicit" or "starttls", or set allow_insecure = true`,
      });
    }
  },
);

export const imap = z
  .strictObject({
    ...connection,
    user: nonEmpty,
    auth: z.enum(['password', 'oauth2']),
    password: z.string().optional(),
    access_token: z.string().optional(),
    mailbox: nonEmpty,
    processed_folder: nonEmpty,
    quarantine_folder: nonEmpty,
    auto_idle_delay_ms: z.number().int().min(100).max(60_000),
    poll_interval_seconds: positiveInt,
    socket_timeout_seconds: positiveInt,
    max_message_bytes: positiveInt,
  })
  .check(noCleartextOffLoopback)
  .superRefine((v, ctx) => {
    if (v.auth === 'password' && !v.password) {
      ctx.addIssue({
        code: 'custom',
        path: ['password'],
        message: 'is required when auth = "password" (set PSIRT_IMAP__PASSWORD or PSIRT_IMAP__PASSWORD_FILE)',
      });
    }
    for (const key of ['processed_folder', 'quarantine_folder'] as const) {
      if (v[key] === v.mailbox) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `must differ from imap.mailbox (${v.mailbox})`,
        });
      }
    }
  });

export const smtp = z
  .strictObject({
    ...connection,
    /**
     * "none", "password" (user + password) or "oauth2" (user + a token from [oauth2], XOAUTH2).
     * Unset: "password" when `user` is set, else "none" (the behaviour before #15).
     */
    auth: z.enum(['none', 'password', 'oauth2']).optional(),
    user: z.string().optional(),
    password: z.string().optional(),
    pool_size: z.number().int().min(1).max(20),
    /** Header `From:` of every mail we send. */
    /** Kept as written, like organisation.security_address: shown and sent, never compared. */
    from_address: email,
    from_name: nonEmpty,
    /** SMTP envelope sender (MAIL FROM) for mail that may bounce; `""` means the null sender. */
    envelope_from: z.union([email, z.literal('')]),
  })
  .check(noCleartextOffLoopback)
  .superRefine((v, ctx) => {
    const auth = smtpAuthOf(v);
    if (auth !== 'none' && !v.user) {
      ctx.addIssue({
        code: 'custom',
        path: ['user'],
        message: `is required when smtp.auth = "${auth}"`,
      });
    }
    if (auth === 'password' && !v.password) {
      ctx.addIssue({
        code: 'custom',
        path: ['password'],
        message: 'is required when smtp.user is set (PSIRT_SMTP__PASSWORD or PSIRT_SMTP__PASSWORD_FILE)',
      });
    }
  });

/** The SMTP authentication in force: `smtp.auth`, or inferred from `smtp.user` when unset. */
export function smtpAuthOf(v: {
  auth?: 'none' | 'password' | 'oauth2' | undefined;
  user?: string | undefined;
}) {
  return v.auth ?? (v.user ? 'password' : 'none');
}

/**
 * OAuth2 tokens for imap.auth / smtp.auth = "oauth2" (#15): a refresh-token grant against
 * `token_endpoint`, or a `token_file` written by an external helper. Both empty: only a static
 * imap.access_token (which expires within the hour at Microsoft 365 and Google).
 */
export const oauth2 = z
  .strictObject({
    /** The provider's OAuth2 token URL (https; http only to a loopback host). "" = not used. */
    token_endpoint: z.string(),
    client_id: z.string(),
    client_secret: z.string().optional(),
    refresh_token: z.string().optional(),
    /** Space-separated scopes asked for with each grant; "" = those of the refresh token. */
    scope: z.string(),
    /** A file holding the current access token, re-read when it changes. "" = not used. */
    token_file: z.string(),
    /** The IMAP SASL mechanism; SMTP always uses XOAUTH2 (the one nodemailer speaks). */
    mechanism: z.enum(['xoauth2', 'oauthbearer']),
  })
  .superRefine((v, ctx) => {
    if (v.token_endpoint !== '' && v.token_file !== '') {
      ctx.addIssue({
        code: 'custom',
        path: ['token_file'],
        message: 'set either oauth2.token_endpoint (refresh token grant) or oauth2.token_file, not both',
      });
    }
    if (v.token_endpoint === '') return;
    let url: URL | null = null;
    try {
      url = new URL(v.token_endpoint);
    } catch {
      ctx.addIssue({ code: 'custom', path: ['token_endpoint'], message: 'must be a URL' });
    }
    if (url !== null) {
      const host = url.hostname;
      if (url.protocol === 'http:' && !LOOPBACK.test(host)) {
        ctx.addIssue({
          code: 'custom',
          path: ['token_endpoint'],
          message: `http sends the refresh token in clear to ${host}; use https (http only to a loopback host)`,
        });
      } else if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        ctx.addIssue({ code: 'custom', path: ['token_endpoint'], message: 'must be an https:// URL' });
      }
      if (url.username !== '' || url.password !== '' || url.search !== '') {
        ctx.addIssue({
          code: 'custom',
          path: ['token_endpoint'],
          message: 'must not carry credentials or a query; use oauth2.client_id / oauth2.client_secret',
        });
      }
    }
    if (!v.refresh_token) {
      ctx.addIssue({
        code: 'custom',
        path: ['refresh_token'],
        message:
          'is required with oauth2.token_endpoint (set PSIRT_OAUTH2__REFRESH_TOKEN or PSIRT_OAUTH2__REFRESH_TOKEN_FILE)',
      });
    }
    if (v.client_id === '') {
      ctx.addIssue({
        code: 'custom',
        path: ['client_id'],
        message: "is required with oauth2.token_endpoint (the app registration's client id)",
      });
    }
  });

/**
 * The second SMTP route (#15): alerts about the service itself (relay down, dead-man) go by it
 * when it is enabled, so on-call hears of a dead primary relay while it is dead. The same
 * connection fields as [smtp]; the sender identity is [smtp]'s.
 */
export const smtpFallback = z
  .strictObject({
    enabled: z.boolean(),
    ...connection,
    user: z.string().optional(),
    password: z.string().optional(),
  })
  .check(noCleartextOffLoopback)
  .superRefine((v, ctx) => {
    if (v.user && !v.password) {
      ctx.addIssue({
        code: 'custom',
        path: ['password'],
        message:
          'is required when smtp_fallback.user is set (PSIRT_SMTP_FALLBACK__PASSWORD or PSIRT_SMTP_FALLBACK__PASSWORD_FILE)',
      });
    }
  });
