import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Config } from '../config/schema.js';
import { describeError, PsirtError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { ServiceMetrics } from './metrics.js';
import type { Readiness } from './readiness.js';

/**
 * The HTTP listener of a `psirt start` process (#15), plain node:http:
 * - `GET /metrics`: Prometheus text exposition (token required when configured);
 * - `GET /readyz`: 200 or 503 with `{ ready, components }` (token required when configured);
 * - `GET /healthz`: 200 while the event loop answers (open, for probes that carry no header).
 * Nothing else is served; no request body is read.
 */

export interface HttpDeps {
  metrics: ServiceMetrics;
  readiness: Readiness;
  log: Logger;
}

export interface RunningHttp {
  /** The bound port (the configured one, or the one the OS picked for port 0 in tests). */
  port: number;
  close(): Promise<void>;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Whether the request carries `Authorization: Bearer <token>`. Compared in constant time over
 * digests, so neither the token's content nor its length shows in the timing.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ \t]+(\S{1,4096})[ \t]*$/i.exec(header ?? '');
  const given = m?.[1] ?? '';
  return timingSafeEqual(digest(given), digest(token)) && m !== null;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(body);
}

export function startHttpServer(cfg: Config['http'], deps: HttpDeps): Promise<RunningHttp> {
  const token = cfg.bearer_token ?? '';
  const log = deps.log;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
      return;
    }
    if (path !== '/metrics' && path !== '/readyz') {
      send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
      return;
    }
    if (token !== '' && !bearerMatches(req.headers.authorization, token)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="psirt-inbox"');
      send(res, 401, 'text/plain; charset=utf-8', 'unauthorized\n');
      return;
    }
    if (path === '/metrics') {
      const body = await deps.metrics.scrape();
      send(res, 200, deps.metrics.registry.contentType, body);
      return;
    }
    const report = await deps.readiness.check();
    send(res, report.ready ? 200 : 503, 'application/json', `${JSON.stringify(report)}\n`);
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      log.error({ event: 'http.failed', err: describeError(err) }, 'HTTP request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new PsirtError(
          'http_listen_failed',
          `http.port: cannot listen on ${cfg.bind}:${cfg.port} (${err.code ?? describeError(err)}); ` +
            'choose another http.port (PSIRT_HTTP__PORT), or set http.enabled = false',
        ),
      );
    });
    server.listen(cfg.port, cfg.bind, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : cfg.port;
      server.on('error', (err) =>
        log.error({ event: 'http.error', err: describeError(err) }, 'HTTP listener error'),
      );
      log.info({ event: 'http.listening', bind: cfg.bind, port }, 'metrics and health listening');
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
