import { z } from 'zod';
import { nonEmpty, port, positiveInt } from './fields.js';

/** Loopback addresses the HTTP listener may bind to without a token. */
const LOOPBACK_BIND = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/i;

/**
 * The HTTP listener of each `psirt start` process (#15): `/metrics` for Prometheus, `/healthz`
 * and `/readyz`. NB! The metrics reveal operational facts (how many cases, which stage, whether
 * the relay is down): off loopback they are served only behind a bearer token.
 */
export const http = z
  .strictObject({
    enabled: z.boolean(),
    bind: nonEmpty,
    port,
    /** Bearer token `/metrics` and `/readyz` ask for; unset = none (loopback only). */
    bearer_token: z.string().optional(),
    /** How long a readiness probe of IMAP/SMTP/Redis may take. */
    readiness_timeout_ms: z.number().int().min(100).max(30_000),
    /** How long a readiness answer is reused, so probes and scrapes do not hammer the servers. */
    readiness_cache_seconds: positiveInt,
  })
  .superRefine((v, ctx) => {
    if (v.bearer_token !== undefined && v.bearer_token !== '' && v.bearer_token.length < 16) {
      ctx.addIssue({ code: 'custom', path: ['bearer_token'], message: 'must be at least 16 characters' });
    }
    if (v.enabled && !LOOPBACK_BIND.test(v.bind) && (v.bearer_token === undefined || v.bearer_token === '')) {
      ctx.addIssue({
        code: 'custom',
        path: ['bearer_token'],
        message: `is required when http.bind is not a loopback address (${v.bind}): the metrics reveal operational facts (set PSIRT_HTTP__BEARER_TOKEN_FILE, or bind to 127.0.0.1)`,
      });
    }
  });
