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
    if (v.auth === 'oauth2' && !v.access_token) {
      ctx.addIssue({
        code: 'custom',
        path: ['access_token'],
        message:
          'is required when auth = "oauth2" (set PSIRT_IMAP__ACCESS_TOKEN or PSIRT_IMAP__ACCESS_TOKEN_FILE)',
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
    if (v.user && !v.password) {
      ctx.addIssue({
        code: 'custom',
        path: ['password'],
        message: 'is required when smtp.user is set (PSIRT_SMTP__PASSWORD or PSIRT_SMTP__PASSWORD_FILE)',
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
