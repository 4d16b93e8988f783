import { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import { fail, pass, type CheckResult } from '../core/check.js';
import { describeError } from '../core/errors.js';
import { redactUrl } from '../config/redact.js';

export type RedisConfig = Config['redis'];
export type { Redis };

/** BullMQ 6 refuses Redis < 5 and warns below 6.2; we require 6.2 (libraries.md §5). */
export const MIN_REDIS_VERSION = [6, 2, 0] as const;

/**
 * A new ioredis connection. Workers need `maxRetriesPerRequest: null` (BullMQ throws otherwise);
 * producers and probes keep a finite value to fail fast. NB! Every instance needs an `error`
 * listener or ioredis prints "Unhandled error event".
 */
export function createRedis(cfg: RedisConfig, kind: 'worker' | 'producer' | 'probe'): Redis {
  return new Redis(cfg.url, {
    maxRetriesPerRequest: kind === 'worker' ? null : 1,
    connectTimeout: 5_000,
    lazyConnect: true,
    ...(cfg.password ? { password: cfg.password } : {}),
    ...(kind === 'probe' ? { retryStrategy: () => null, enableOfflineQueue: false } : {}),
  });
}

function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

export function versionAtLeast(version: string, min: readonly number[]): boolean {
  const parts = version.split('.').map((p) => Number.parseInt(p, 10));
  for (let i = 0; i < min.length; i++) {
    const a = parts[i] ?? 0;
    const b = min[i] ?? 0;
    if (Number.isNaN(a)) return false;
    if (a !== b) return a > b;
  }
  return true;
}

/** Connects, then checks the server version and that the eviction policy cannot drop job keys. */
export async function checkRedis(cfg: RedisConfig): Promise<CheckResult> {
  const name = 'redis';
  const where = redactUrl(cfg.url);
  const redis = createRedis(cfg, 'probe');
  let lastError: unknown;
  redis.on('error', (err) => (lastError = err)); // reported below, with the cause
  try {
    await redis.connect().catch((err: unknown) => {
      throw lastError ?? err;
    });
    const info = parseInfo(`${await redis.info('server')}\n${await redis.info('memory')}`);
    const version = info.get('redis_version') ?? 'unknown';
    const policy = info.get('maxmemory_policy') ?? 'unknown';
    const min = MIN_REDIS_VERSION.join('.');
    if (!versionAtLeast(version, MIN_REDIS_VERSION)) {
      return fail(
        name,
        `${where} runs Redis ${version}, older than ${min}`,
        `upgrade Redis to ${min} or newer`,
      );
    }
    if (policy !== 'noeviction') {
      return fail(
        name,
        `${where} has maxmemory-policy ${policy}: Redis may evict queue keys`,
        'set maxmemory-policy noeviction (redis.conf or CONFIG SET maxmemory-policy noeviction)',
      );
    }
    return pass(name, `${where}: Redis ${version}, maxmemory-policy noeviction`);
  } catch (err) {
    return fail(
      name,
      `cannot reach ${where}: ${describeError(err)}`,
      'check redis.url (and redis.password) and that Redis is running',
    );
  } finally {
    redis.disconnect();
  }
}
