import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { openAlarm } from '../../../src/7-cases/alarm-store.js';
import { loadConfig } from '../../../src/config/load.js';
import { systemClock } from '../../../src/core/clock.js';
import { createLogger } from '../../../src/core/log.js';
import { createSmtpTransport } from '../../../src/8-outbox/smtp-transport.js';
import { createObservability } from '../../../src/roles/observability.js';
import { startRelayWatch } from '../../../src/roles/relay-watch.js';
import { migratedDb } from '../../support/db.js';
import { eventually } from '../../support/eventually.js';
import { freePort } from '../../support/ports.js';
import { stackEnv } from '../../support/stack.js';

/**
 * #15 in-process, on the real stack: the HTTP listener of a service (/healthz, /readyz,
 * /metrics, the bearer token) and the mailer's watch on the relay (down → one alarm with its
 * mail, back → cleared, waiting mail sent at once).
 */
const stack = inject('stack');
const log = createLogger('silent');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(env: Record<string, string>) {
  const port = await freePort();
  const config = loadConfig({
    env: stackEnv(stack, { PSIRT_HTTP__ENABLED: 'true', PSIRT_HTTP__PORT: String(port), ...env }),
  });
  const db = migratedDb();
  const o = createObservability(config, { db, clock: systemClock, log, version: '0.0.0-test' });
  await o.listen();
  cleanups.push(() => o.close());
  const get = (path: string, token?: string) =>
    fetch(`http://127.0.0.1:${String(port)}${path}`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
  return { o, get };
}

describe('the HTTP listener in the service process (#15)', () => {
  it('answers /healthz, /readyz (every component up) and /metrics from SQLite and Redis', async () => {
    const { o, get } = await serve({});
    o.metrics.intake.fetched();
    expect((await get('/healthz')).status).toBe(200);
    const ready = await get('/readyz');
    const body = (await ready.json()) as { ready: boolean; components: Record<string, unknown> };
    expect(ready.status).toBe(200);
    expect(Object.keys(body.components).sort()).toEqual(['imap', 'redis', 'smtp', 'sqlite']);
    const text = await (await get('/metrics')).text();
    expect(text).toMatch(/^psirt_redis_up 1$/m);
    expect(text).toMatch(/^psirt_mail_fetched_total 1$/m);
    expect((await get('/nothing-here')).status).toBe(404);
  });

  it('turns /readyz 503 naming the component that does not answer', async () => {
    const dead = await freePort();
    const { get } = await serve({ PSIRT_IMAP__PORT: String(dead) });
    const ready = await get('/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toMatch(/imap/);
  });

  it('asks for the bearer token when one is configured, on /metrics and /readyz but not /healthz', async () => {
    const token = 'a-long-enough-token-for-tests';
    const { get } = await serve({ PSIRT_HTTP__BEARER_TOKEN: token });
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/metrics', 'wrong-token-of-some-length')).status).toBe(401);
    expect((await get('/readyz')).status).toBe(401);
    expect((await get('/metrics', token)).status).toBe(200);
    expect((await get('/healthz')).status).toBe(200);
  });
});

describe('the relay watch (#15)', () => {
  it('raises relay-down once while the relay does not answer, clears it and sends waiting mail when it does', async () => {
    const port = await freePort();
    const config = loadConfig({
      env: stackEnv(stack, {
        PSIRT_SMTP__PORT: String(port),
        PSIRT_MAILER__RELAY_CHECK_SECONDS: '1',
        PSIRT_MAILER__RELAY_DOWN_AFTER_SECONDS: '1',
      }),
    });
    const db = migratedDb();
    const transport = createSmtpTransport(config.smtp);
    cleanups.push(() => transport.close());
    const enqueued: number[] = [];
    let recovered = 0;
    const watch = startRelayWatch({ config, db, clock: systemClock, log }, transport, {
      enqueue: (ids) => {
        enqueued.push(...ids);
        return Promise.resolve();
      },
      recovered: () => {
        recovered += 1;
        return Promise.resolve();
      },
    });
    cleanups.push(() => watch.stop());
    // Nothing listens on the relay's port: a send found it refused.
    watch.unreachable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    await eventually(() => (openAlarm(db, 'relay-down') !== null ? true : undefined), {
      timeoutMs: 15_000,
      what: 'relay-down raised',
    });
    expect(enqueued).toHaveLength(1);
    // The relay comes back: a proxy to the stack's Postfix on that very port.
    const server: Server = createServer((c) => {
      const up = connect({ host: stack.host, port: stack.smtpPort });
      c.pipe(up);
      up.pipe(c);
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await eventually(() => (openAlarm(db, 'relay-down') === null && recovered === 1 ? true : undefined), {
      timeoutMs: 15_000,
      what: 'relay-down cleared and waiting mail promoted',
    });
    expect(enqueued).toHaveLength(2);
    const kinds = db
      .prepare(
        "SELECT json_extract(payload, '$.event') AS event FROM outbox WHERE kind = 'service-alert' ORDER BY id",
      )
      .all() as { event: string }[];
    expect(kinds.map((k) => k.event)).toEqual(['raised', 'cleared']);
  });
});
