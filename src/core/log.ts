import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Paths pino removes from every log line. Invariant 6 (DESIGN.md): logs never contain report
 * bodies, raw mail or secrets, even when a caller logs a whole object by mistake.
 */
export const REDACT_PATHS = [
  'password',
  'pass',
  'passphrase',
  'accessToken',
  'access_token',
  'auth.pass',
  'auth.accessToken',
  // OAuth2 (#15): never a token, a refresh token or a client secret.
  'refresh_token',
  'refreshToken',
  'client_secret',
  'clientSecret',
  'token',
  'bearer_token',
  '*.refresh_token',
  '*.refreshToken',
  '*.client_secret',
  '*.clientSecret',
  '*.token',
  '*.bearer_token',
  '*.password',
  '*.pass',
  '*.passphrase',
  '*.access_token',
  '*.accessToken',
  'body',
  'text',
  'html',
  'raw',
  'source',
  '*.body',
  '*.text',
  '*.html',
  '*.raw',
  '*.source',
  'armoredKey',
  '*.armoredKey',
];

/** Creates the root logger. Synchronous stdout: pino transports can lose the last lines on exit. */
export function createLogger(level: LevelWithSilent = 'info', name = 'psirt'): Logger {
  return pino({
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
