// Test OAuth2 provider of the local stack (#15), plain node, no dependencies, loopback only.
//   POST /token       refresh_token grant (RFC 6749 §6): a fresh random access token that lives
//                     LIFETIME seconds; client_id / client_secret / refresh_token must match
//   POST /introspect  what Dovecot's oauth2 passdb asks (introspection_mode = post, body token=…):
//                     {"active": true, "username": USER} while the token is unexpired
//   POST /revoke      every access token issued so far stops being valid (tests of a refused token)
//   GET  /stats       {"grants": n, "introspections": n, "refused": n}
// Usage: node oauth2-server.mjs PORT STATE_DIR   (reads STATE_DIR/oauth2.json: client and user)
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [port, stateDir] = process.argv.slice(2);
const conf = JSON.parse(readFileSync(join(stateDir, 'oauth2.json'), 'utf8'));
const lifetime = Number(conf.lifetimeSeconds) || 20;
const tokens = new Map(); // access token -> expiry (ms)
const stats = { grants: 0, introspections: 0, refused: 0 };

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c) => {
      data += c;
      if (data.length > 65536) req.destroy();
    });
    req.on('end', () => resolve(new URLSearchParams(data)));
    req.on('error', reject);
  });
}

const server = createServer(async (req, res) => {
  try {
    if (req.method === 'GET' && req.url === '/stats') return send(res, 200, stats);
    if (req.method !== 'POST') return send(res, 405, { error: 'method_not_allowed' });
    const form = await readForm(req);
    if (req.url === '/token') {
      if (form.get('grant_type') !== 'refresh_token')
        return send(res, 400, { error: 'unsupported_grant_type' });
      if (form.get('client_id') !== conf.clientId || form.get('client_secret') !== conf.clientSecret) {
        stats.refused += 1;
        return send(res, 401, { error: 'invalid_client', error_description: 'unknown client' });
      }
      if (form.get('refresh_token') !== conf.refreshToken) {
        stats.refused += 1;
        return send(res, 400, {
          error: 'invalid_grant',
          error_description: 'refresh token expired or revoked',
        });
      }
      const token = randomBytes(24).toString('base64url');
      tokens.set(token, Date.now() + lifetime * 1000);
      stats.grants += 1;
      return send(res, 200, {
        access_token: token,
        token_type: 'Bearer',
        expires_in: lifetime,
        scope: form.get('scope') ?? '',
      });
    }
    if (req.url === '/introspect') {
      stats.introspections += 1;
      const expiry = tokens.get(form.get('token') ?? '');
      if (expiry === undefined || expiry < Date.now()) return send(res, 200, { active: 'false' });
      return send(res, 200, { active: 'true', username: conf.user });
    }
    if (req.url === '/revoke') {
      tokens.clear();
      return send(res, 200, { revoked: true });
    }
    return send(res, 404, { error: 'not_found' });
  } catch {
    return send(res, 500, { error: 'server_error' });
  }
});
server.listen(Number(port), '127.0.0.1');
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
