import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createTokenSource,
  OAuth2Error,
  tokenFromFile,
  type OAuth2Settings,
  type TokenSource,
} from '../../../src/core/oauth2.js';

/** A real local token endpoint: each test sets how it answers; requests are recorded. */
let server: Server;
let url = '';
let answer: (form: URLSearchParams, n: number) => { status: number; body: unknown };
let requests: URLSearchParams[] = [];

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => resolve(data));
  });

beforeAll(async () => {
  server = createServer((req, res) => {
    void readBody(req).then((text) => {
      const form = new URLSearchParams(text);
      requests.push(form);
      const { status, body } = answer(form, requests.length);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  url = `http://127.0.0.1:${addr.port}/token`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  requests = [];
  answer = (_f, n) => ({
    status: 200,
    body: { access_token: `tok-${n}`, token_type: 'Bearer', expires_in: 100 },
  });
});

const settings = (o: Partial<OAuth2Settings> = {}): OAuth2Settings => ({
  token_endpoint: url,
  client_id: 'client',
  client_secret: 'shh-secret',
  refresh_token: 'rt-1',
  scope: 'https://mail.google.com/',
  token_file: '',
  ...o,
});

describe('token endpoint source', () => {
  it('sends the refresh_token grant and caches the token until shortly before it expires', async () => {
    let now = 1_000_000;
    const src = createTokenSource(settings(), undefined, { now: () => now }) as TokenSource;
    expect(src.kind).toBe('endpoint');
    expect(await src.get()).toBe('tok-1');
    const form = requests[0] as URLSearchParams;
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'rt-1',
      client_id: 'client',
      client_secret: 'shh-secret',
      scope: 'https://mail.google.com/',
    });
    now += 89_000; // 100 s lifetime, renewed in its last 10 %
    expect(await src.get()).toBe('tok-1');
    expect(requests).toHaveLength(1);
    now += 2_000;
    expect(await src.get()).toBe('tok-2');
    expect(requests).toHaveLength(2);
    expect(src.obtained).toBe(2);
  });

  it('force skips the cache; concurrent callers share one grant', async () => {
    const src = createTokenSource(settings(), undefined) as TokenSource;
    const [a, b] = await Promise.all([src.get(), src.get()]);
    expect([a, b]).toEqual(['tok-1', 'tok-1']);
    expect(requests).toHaveLength(1);
    expect(await src.get({ force: true })).toBe('tok-2');
  });

  it('uses a rotated refresh token for the next grant (Microsoft 365 returns one each time)', async () => {
    answer = (_f, n) => ({ status: 200, body: { access_token: `tok-${n}`, refresh_token: `rt-${n + 1}` } });
    const src = createTokenSource(settings(), undefined) as TokenSource;
    await src.get();
    await src.get({ force: true });
    expect(requests.map((r) => r.get('refresh_token'))).toEqual(['rt-1', 'rt-2']);
  });

  it('a grant with no expires_in is kept for an hour', async () => {
    answer = (_f, n) => ({ status: 200, body: { access_token: `tok-${n}` } });
    let now = 0;
    const src = createTokenSource(settings(), undefined, { now: () => now }) as TokenSource;
    await src.get();
    now = 3_500_000;
    expect(await src.get()).toBe('tok-1');
    now = 3_550_000;
    expect(await src.get()).toBe('tok-2');
  });

  it('invalid_grant is permanent and names oauth2.refresh_token, never a secret', async () => {
    answer = () => ({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'AADSTS70008: expired' },
    });
    const err = (await createTokenSource(settings(), undefined)
      ?.get()
      .catch((e: unknown) => e)) as OAuth2Error;
    expect(err).toBeInstanceOf(OAuth2Error);
    expect(err.code).toBe('oauth2_refused');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/refused the refresh token \(invalid_grant: AADSTS70008: expired\)/);
    expect(err.fix).toContain('oauth2.refresh_token / PSIRT_OAUTH2__REFRESH_TOKEN_FILE');
    expect(err.message).not.toMatch(/rt-1|shh-secret/);
  });

  it('invalid_client (401) names the client id and secret; invalid_scope the scope', async () => {
    answer = () => ({ status: 401, body: { error: 'invalid_client' } });
    const e1 = (await createTokenSource(settings(), undefined)
      ?.get()
      .catch((e: unknown) => e)) as OAuth2Error;
    expect(e1.message).toContain('answered 401 invalid_client');
    expect(e1.fix).toContain('oauth2.client_secret');
    answer = () => ({ status: 400, body: { error: 'invalid_scope' } });
    const e2 = (await createTokenSource(settings(), undefined)
      ?.get()
      .catch((e: unknown) => e)) as OAuth2Error;
    expect(e2.fix).toContain('oauth2.scope');
  });

  it('5xx and an unreachable endpoint are retryable', async () => {
    answer = () => ({ status: 503, body: 'busy' });
    const e1 = (await createTokenSource(settings(), undefined)
      ?.get()
      .catch((e: unknown) => e)) as OAuth2Error;
    expect(e1.code).toBe('oauth2_unavailable');
    expect(e1.retryable).toBe(true);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const e2 = (await createTokenSource(
      settings({ token_endpoint: `http://127.0.0.1:${port}/token` }),
      undefined,
    )
      ?.get()
      .catch((e: unknown) => e)) as OAuth2Error;
    expect(e2.code).toBe('oauth2_unavailable');
    expect(e2.message).toContain('ECONNREFUSED');
  });

  it('an answer without an access_token, or not a bearer token, is refused', async () => {
    answer = () => ({ status: 200, body: '<html>login</html>' });
    const e1 = (await createTokenSource(settings(), undefined)
      ?.get()
      .catch((e: unknown) => e)) as OAuth2Error;
    expect(e1.message).toContain('without an access_token');
    answer = () => ({ status: 200, body: { access_token: 'x', token_type: 'mac' } });
    const e2 = (await createTokenSource(settings(), undefined)
      ?.get()
      .catch((e: unknown) => e)) as OAuth2Error;
    expect(e2.message).toContain('not a bearer token');
    expect(e2.message).not.toContain('"x"');
  });
});

describe('token file source', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'psirt-oauth2-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the token again when the file changes, and only then', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'first-token\n');
    utimesSync(file, 1000, 1000);
    const src = createTokenSource(
      settings({ token_endpoint: '', token_file: file }),
      undefined,
    ) as TokenSource;
    expect(src.kind).toBe('file');
    expect(await src.get()).toBe('first-token');
    writeFileSync(file, 'other-token\n'); // same size: only the mtime tells
    utimesSync(file, 1000, 1000);
    expect(await src.get()).toBe('first-token');
    utimesSync(file, 2000, 2000);
    expect(await src.get()).toBe('other-token');
    writeFileSync(file, JSON.stringify({ access_token: 'json-token', expires_in: 3600 }));
    expect(await src.get()).toBe('json-token');
    expect(src.obtained).toBe(3);
  });

  it('a missing or empty file is an error naming oauth2.token_file', async () => {
    const src = createTokenSource(
      settings({ token_endpoint: '', token_file: join(dir, 'missing') }),
      undefined,
    ) as TokenSource;
    await expect(src.get()).rejects.toThrow(/oauth2.token_file .*missing \(ENOENT\)/);
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    const src2 = createTokenSource(
      settings({ token_endpoint: '', token_file: empty }),
      undefined,
    ) as TokenSource;
    await expect(src2.get()).rejects.toThrow(/holds no token/);
  });

  it('tokenFromFile takes the first line or a JSON access_token', () => {
    expect(tokenFromFile('  abc \nrest')).toBe('abc');
    expect(tokenFromFile('{"access_token":"t"}')).toBe('t');
    expect(tokenFromFile('{"nope":1}')).toBeNull();
    expect(tokenFromFile('')).toBeNull();
  });
});

describe('source choice', () => {
  it('endpoint, else file, else the static imap.access_token, else none', () => {
    expect(createTokenSource(settings(), 'static')?.kind).toBe('endpoint');
    expect(createTokenSource(settings({ token_endpoint: '', token_file: '/x' }), 'static')?.kind).toBe(
      'file',
    );
    expect(createTokenSource(settings({ token_endpoint: '' }), 'static')?.kind).toBe('static');
    expect(createTokenSource(settings({ token_endpoint: '' }), undefined)).toBeNull();
  });
});
