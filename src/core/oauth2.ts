import { readFile, stat } from 'node:fs/promises';
import { PsirtError } from './errors.js';

/**
 * OAuth2 access tokens for IMAP and SMTP (XOAUTH2 / OAUTHBEARER, issue #15): one token source per
 * process, shared by the intake and the mailer, so both log in with the same fresh token.
 *
 *   - `endpoint`: the refresh-token grant (RFC 6749 §6) against `oauth2.token_endpoint`; the token
 *     is cached until shortly before its `expires_in`, then fetched again; a rotated refresh token
 *     (Microsoft 365 returns one with every grant) replaces the configured one in memory.
 *   - `file`: `oauth2.token_file`, written by an external helper (oauth2-proxy, a cron job), read
 *     again whenever its modification time or size changes.
 *   - `static`: the fixed `imap.access_token` of earlier versions (expires within the hour).
 *
 * `get({ force: true })` is what a client calls once after the server refused a token: a new grant
 * (or a fresh read of the file). Errors are `OAuth2Error`s whose message names the fix. A token
 * never appears in an error, a log line or a message, not even a prefix.
 */

/** The `[oauth2]` settings this module needs (the config schema's section has this shape). */
export interface OAuth2Settings {
  token_endpoint: string;
  client_id: string;
  client_secret?: string | undefined;
  refresh_token?: string | undefined;
  scope: string;
  token_file: string;
}

export type TokenSourceKind = 'endpoint' | 'file' | 'static';

export interface TokenSource {
  readonly kind: TokenSourceKind;
  /** A usable access token; `force` skips the cache (after the server refused the last one). */
  get(opts?: { force?: boolean }): Promise<string>;
  /** What to do when a mail server refuses a token from this source (one line, no secret). */
  readonly refusedFix: string;
  /** Number of tokens obtained so far (grants, or distinct file contents). */
  readonly obtained: number;
}

/**
 * `oauth2_refused`: the token endpoint refused the grant (invalid_grant, invalid_client, …) or the
 * token file is unusable — retrying cannot help until someone acts. `oauth2_unavailable`: the
 * endpoint could not be reached or answered 5xx — a later try may succeed.
 */
export class OAuth2Error extends PsirtError {
  /** What went wrong, without the fix. */
  readonly reason: string;
  /** What to do about it (names the config key). */
  readonly fix: string;
  constructor(code: 'oauth2_refused' | 'oauth2_unavailable', reason: string, fix: string, cause?: unknown) {
    super(code, `${reason}: ${fix}`, { retryable: code === 'oauth2_unavailable', cause });
    this.name = 'OAuth2Error';
    this.reason = reason;
    this.fix = fix;
  }
}

export interface TokenSourceOptions {
  /** Milliseconds since the epoch; tests pass a fake. */
  now?: () => number;
  /** Per-request deadline of the token endpoint, ms. */
  timeoutMs?: number;
}

/** Renew when less than this share of the token's lifetime is left (at most 60 s before expiry). */
const RENEW_SHARE = 0.1;
const RENEW_MAX_MS = 60_000;
/** A grant that names no `expires_in` is taken to last an hour (what Google and Microsoft send). */
const DEFAULT_LIFETIME_S = 3600;

const SECRET_FIX = 'oauth2.refresh_token / PSIRT_OAUTH2__REFRESH_TOKEN_FILE';

/**
 * The token source the configuration asks for, or null when OAuth2 is not configured. The token
 * endpoint wins over the token file, which wins over a static `imap.access_token` (the config
 * schema refuses a configuration that sets both of the first two).
 */
export function createTokenSource(
  settings: OAuth2Settings,
  staticToken: string | undefined,
  opts: TokenSourceOptions = {},
): TokenSource | null {
  if (settings.token_endpoint !== '') return endpointSource(settings, opts);
  if (settings.token_file !== '') return fileSource(settings.token_file);
  if (staticToken !== undefined && staticToken !== '') return staticSource(staticToken);
  return null;
}

function staticSource(token: string): TokenSource {
  return {
    kind: 'static',
    obtained: 1,
    get: () => Promise.resolve(token),
    refusedFix:
      'a static imap.access_token expires (within the hour at Microsoft 365 and Google): configure ' +
      '[oauth2] token_endpoint with a refresh_token, or a token_file kept fresh by a helper (README "OAuth2")',
  };
}

function fileSource(file: string): TokenSource {
  let cached: { token: string; mtimeMs: number; size: number } | null = null;
  let obtained = 0;
  const unreadable = (why: string, cause?: unknown): OAuth2Error =>
    new OAuth2Error(
      'oauth2_refused',
      `cannot use oauth2.token_file ${file} (${why})`,
      'check the path and that the helper writing the token file runs',
      cause,
    );
  return {
    kind: 'file',
    get obtained() {
      return obtained;
    },
    refusedFix: `the token in oauth2.token_file (${file}) was refused: make the helper that writes it renew the token`,
    async get(o = {}) {
      let st;
      try {
        st = await stat(file);
      } catch (err) {
        throw unreadable((err as NodeJS.ErrnoException).code ?? 'error', err);
      }
      if (!o.force && cached !== null && cached.mtimeMs === st.mtimeMs && cached.size === st.size) {
        return cached.token;
      }
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        throw unreadable((err as NodeJS.ErrnoException).code ?? 'error', err);
      }
      const token = tokenFromFile(text);
      if (token === null) throw unreadable('it holds no token');
      if (cached?.token !== token) obtained += 1;
      cached = { token, mtimeMs: st.mtimeMs, size: st.size };
      return token;
    },
  };
}

/**
 * The token in a token file: the whole text (trimmed), or the `access_token` of a JSON object — a
 * token response saved as it came. Null when there is none.
 */
export function tokenFromFile(text: string): string | null {
  const t = text.trim();
  if (t === '') return null;
  if (t.startsWith('{')) {
    try {
      const v = (JSON.parse(t) as { access_token?: unknown }).access_token;
      return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
    } catch {
      return null; // not JSON after all: a token never starts with "{"
    }
  }
  const first = t.split(/\r?\n/)[0]?.trim() ?? '';
  return first === '' ? null : first;
}

function endpointSource(s: OAuth2Settings, opts: TokenSourceOptions): TokenSource {
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  let refreshToken = s.refresh_token ?? '';
  let cached: { token: string; renewAt: number } | null = null;
  let inflight: Promise<string> | null = null;
  let obtained = 0;
  const where = `the token endpoint ${endpointForMessages(s.token_endpoint)}`;

  async function grant(): Promise<string> {
    const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
    if (s.client_id !== '') body.set('client_id', s.client_id);
    if (s.client_secret) body.set('client_secret', s.client_secret);
    if (s.scope !== '') body.set('scope', s.scope);
    let res: Response;
    try {
      res = await fetch(s.token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      const why = networkReason(err);
      throw new OAuth2Error(
        'oauth2_unavailable',
        `cannot reach ${where} (${why})`,
        'check oauth2.token_endpoint and the network; the next login tries again',
        err,
      );
    }
    const text = await res.text().catch(() => '');
    const json = parseJson(text);
    if (!res.ok) throw refusal(res.status, json, where);
    const token = json?.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new OAuth2Error(
        'oauth2_refused',
        `${where} answered ${res.status} without an access_token`,
        'check oauth2.token_endpoint: it must be the OAuth2 token URL of the provider',
      );
    }
    const type = json?.token_type;
    if (typeof type === 'string' && type.toLowerCase() !== 'bearer') {
      throw new OAuth2Error(
        'oauth2_refused',
        `${where} issued a "${type.slice(0, 20)}" token, not a bearer token`,
        'check oauth2.token_endpoint and oauth2.scope',
      );
    }
    const rotated = json?.refresh_token;
    if (typeof rotated === 'string' && rotated !== '') refreshToken = rotated;
    const lifetimeMs = lifetimeSeconds(json?.expires_in) * 1000;
    const margin = Math.min(RENEW_MAX_MS, lifetimeMs * RENEW_SHARE);
    cached = { token, renewAt: now() + lifetimeMs - margin };
    obtained += 1;
    return token;
  }

  return {
    kind: 'endpoint',
    get obtained() {
      return obtained;
    },
    refusedFix:
      `the server refused a token just issued by ${where}: check that the token's scope covers ` +
      'IMAP/SMTP (oauth2.scope) and that imap.user / smtp.user is the account the refresh token belongs to',
    get(o = {}) {
      if (!o.force && cached !== null && now() < cached.renewAt) return Promise.resolve(cached.token);
      // One grant at a time: the intake and the mailer's pool ask together after an expiry.
      inflight ??= grant().finally(() => {
        inflight = null;
      });
      return inflight;
    },
  };
}

/** The endpoint as shown in messages: scheme, host and path, never a query or user info. */
function endpointForMessages(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function networkReason(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: unknown } };
  if (e.name === 'TimeoutError') return 'timed out';
  const code = e.cause?.code;
  return typeof code === 'string' ? code : 'network error';
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function lifetimeSeconds(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_LIFETIME_S;
}

/** Printable text from the endpoint (error codes, descriptions): one line, capped, no controls. */
function printable(v: unknown, max: number): string {
  if (typeof v !== 'string') return '';
  let visible = '';
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    visible += c < 0x20 || c === 0x7f ? ' ' : v.charAt(i);
  }
  return visible.replace(/ +/g, ' ').trim().slice(0, max);
}

/** A 4xx/5xx answer of the token endpoint as an error naming the fix (RFC 6749 §5.2 codes). */
function refusal(status: number, json: Record<string, unknown> | null, where: string): OAuth2Error {
  const code = printable(json?.error, 40);
  const description = printable(json?.error_description, 200);
  const said = `${where} answered ${status}${code ? ` ${code}` : ''}${description ? ` (${description})` : ''}`;
  if (status >= 500 || status === 429) {
    return new OAuth2Error(
      'oauth2_unavailable',
      said,
      'the provider is failing or throttling; the next login tries again',
    );
  }
  switch (code) {
    case 'invalid_grant':
      return new OAuth2Error(
        'oauth2_refused',
        `${where} refused the refresh token (invalid_grant${description ? `: ${description}` : ''})`,
        `it expired or was revoked: issue a new one (README "OAuth2") and set ${SECRET_FIX}`,
      );
    case 'invalid_client':
    case 'unauthorized_client':
      return new OAuth2Error(
        'oauth2_refused',
        said,
        'check oauth2.client_id and oauth2.client_secret (PSIRT_OAUTH2__CLIENT_SECRET_FILE) and that the app registration allows this grant',
      );
    case 'invalid_scope':
      return new OAuth2Error(
        'oauth2_refused',
        said,
        'check oauth2.scope against the scopes granted to the app',
      );
    default:
      return new OAuth2Error(
        'oauth2_refused',
        said,
        status === 401 || status === 400
          ? `check oauth2.client_id, oauth2.client_secret and ${SECRET_FIX}`
          : 'check oauth2.token_endpoint',
      );
  }
}
