import { SECRET_KEYS } from './load.js';
import type { Config } from './schema.js';

const REDACTED = '[redacted]';

/** A deep copy of the config with every secret replaced, for `psirt config print` and logs. */
export function redactConfig(config: Config): unknown {
  const walk = (node: unknown, key?: string): unknown => {
    if (Array.isArray(node)) return node.map((n) => walk(n));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, k)]));
    }
    if (key !== undefined && SECRET_KEYS.has(key) && typeof node === 'string' && node !== '') return REDACTED;
    if (key === 'url' && typeof node === 'string') return redactUrl(node);
    return node;
  };
  return walk(config);
}

/** Masks the password in `redis://user:password@host`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()])
      if (/pass|secret|token/i.test(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return url;
  }
}
