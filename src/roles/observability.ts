import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { Db } from '../7-cases/db.js';
import { readOperationalSnapshot, readOutboxProblems } from '../7-cases/metrics-store.js';
import { createQueueProbe } from '../jobs/queue-probe.js';
import { createMetrics, type ServiceMetrics } from '../metrics/metrics.js';
import { createReadiness, probeGreeting } from '../metrics/readiness.js';
import { startHttpServer } from '../metrics/server.js';

/**
 * The metrics and health of one `psirt start` process (#15): prom-client metrics fed by SQLite,
 * Redis and this process's roles, the readiness checks, and the HTTP listener. Created before
 * the roles (they report into `metrics`), listening once `listen()` is called.
 */
export interface Observability {
  metrics: ServiceMetrics;
  /** Starts the listener; a port in use rejects with a message naming http.port. */
  listen(): Promise<{ port: number }>;
  close(): Promise<void>;
}

/** How often the failed/unknown outbox rows are counted (a table scan, see readOutboxProblems). */
const PROBLEMS_EVERY_MS = 60_000;

export function createObservability(
  config: Config,
  deps: { db: Db; clock: Clock; log: Logger; version: string },
): Observability {
  const { db, clock } = deps;
  const log = deps.log.child({ component: 'http' });
  const timeoutMs = config.http.readiness_timeout_ms;
  const redis = createQueueProbe(config.redis);
  let problems: { at: number; rows: ReturnType<typeof readOutboxProblems> } | null = null;
  const metrics = createMetrics({
    clock,
    log,
    version: deps.version,
    snapshot: (now) => readOperationalSnapshot(db, now),
    outboxProblems: () => {
      const now = clock.now().getTime();
      if (problems === null || now - problems.at >= PROBLEMS_EVERY_MS)
        problems = { at: now, rows: readOutboxProblems(db) };
      return problems.rows;
    },
    depths: () => redis.depths(timeoutMs),
  });
  const ca = (file: string): { ca?: Buffer } => (file === '' ? {} : { ca: readFileSync(file) });
  const readiness = createReadiness(
    {
      sqlite: () => {
        db.prepare('SELECT 1').get();
        return Promise.resolve();
      },
      redis: () => redis.ping(timeoutMs),
      imap: () =>
        probeGreeting({
          host: config.imap.host,
          port: config.imap.port,
          implicitTls: config.imap.tls === 'implicit',
          rejectUnauthorized: config.imap.tls_reject_unauthorized,
          ...ca(config.imap.tls_ca_file),
          timeoutMs,
          expect: 'imap',
        }),
      smtp: () =>
        probeGreeting({
          host: config.smtp.host,
          port: config.smtp.port,
          implicitTls: config.smtp.tls === 'implicit',
          rejectUnauthorized: config.smtp.tls_reject_unauthorized,
          ...ca(config.smtp.tls_ca_file),
          timeoutMs,
          expect: 'smtp',
        }),
    },
    { cacheMs: config.http.readiness_cache_seconds * 1000, now: () => clock.now().getTime() },
  );
  let server: { close(): Promise<void> } | null = null;
  return {
    metrics,
    async listen() {
      const running = await startHttpServer(config.http, { metrics, readiness, log });
      server = running;
      return { port: running.port };
    },
    async close() {
      await server?.close();
      await redis.close();
    },
  };
}
