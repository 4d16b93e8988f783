import { createHash } from 'node:crypto';
import { redactConfig } from './redact.js';
import type { Config } from './schema.js';

/**
 * The digest of a configuration as the procedure documents and the procedure history name it
 * (#12): SHA-256 over a canonical JSON (keys sorted at every level) of the redacted
 * configuration, so a changed secret does not make a new procedure version and no secret
 * reaches the digest's input anywhere it is stored. Hex, 64 digits.
 */
export function configDigest(config: Config): string {
  return createHash('sha256')
    .update(canonicalJson(redactConfig(config)))
    .digest('hex');
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(
        Object.keys(node)
          .sort()
          .map((k) => [k, walk((node as Record<string, unknown>)[k])]),
      );
    }
    return node;
  };
  return JSON.stringify(walk(value));
}
