import type { Config, Product } from '../config/schema.js';
import type { AffectedProduct, AdvisorySnapshot, VersionRange } from './model.js';

/** What the formats read from the configuration (issue #14). */
export type AdvisoryConfig = Pick<Config, 'products' | 'advisory' | 'organisation'>;

/** The configured product with that id; undefined when config no longer lists it. */
export function productOf(config: AdvisoryConfig, id: string): Product | undefined {
  return config.products.find((p) => p.id === id);
}

/** CSAF publisher name: `advisory.publisher_name`, or the organisation's name when empty. */
export function publisherName(config: AdvisoryConfig): string {
  return config.advisory.publisher_name.trim() === ''
    ? config.organisation.name
    : config.advisory.publisher_name;
}

/** `CVSS:3.1/…` → '3.1', `CVSS:4.0/…` → '4.0', `CVSS:3.0/…` → '3.0'; null otherwise. */
export function cvssVersionOf(vector: string): '3.0' | '3.1' | '4.0' | null {
  const m = /^CVSS:(3\.0|3\.1|4\.0)\//.exec(vector);
  return m === null ? null : (m[1] as '3.0' | '3.1' | '4.0');
}

/** A range in words, e.g. "2.0.0 up to, not including, 2.4.1". */
export function describeRange(r: VersionRange): string {
  if (r.all) return 'all versions';
  if (r.exact !== null) return `version ${r.exact}`;
  const from = r.introduced === null ? null : `from ${r.introduced}`;
  const to =
    r.fixed !== null
      ? `before ${r.fixed}`
      : r.lastAffected !== null
        ? `up to and including ${r.lastAffected}`
        : 'onwards';
  return from === null ? `all versions ${to}` : `${from} ${to}`;
}

/** The date part (YYYY-MM-DD) of an ISO time. */
export function dayOf(iso: string): string {
  return iso.slice(0, 10);
}

/** The products in the order first named in `/affects` (then `/fixed-in`), each once. */
export function productIds(s: AdvisorySnapshot): string[] {
  const ids: string[] = [];
  for (const p of [...s.fields.affected.map((a) => a.product), ...s.fields.fixed.map((f) => f.product)])
    if (!ids.includes(p)) ids.push(p);
  return ids;
}

export function affectedOf(s: AdvisorySnapshot, product: string): AffectedProduct[] {
  return s.fields.affected.filter((a) => a.product === product);
}

/** CPE 2.3 formatted string: the configured `cpe:2.3:part:vendor:product` with version (or `*`), padded. */
export function fullCpe(cpe: string, version: string | null): string {
  const parts = cpe.split(':').slice(2);
  const v = version === null ? '*' : version.replace(/[^A-Za-z0-9._-]/g, (c) => `\\${c}`);
  const head = parts.slice(0, 3);
  const tail = parts.slice(4);
  const all = [...head, v, ...tail];
  while (all.length < 11) all.push('*');
  return `cpe:2.3:${all.join(':')}`;
}

/** The configured purl with a version (`pkg:npm/acme-router@2.4.1`), or without one for a range. */
export function purlAt(purl: string, version: string | null): string {
  return version === null ? purl : `${purl}@${encodeURIComponent(version)}`;
}

/** FIRST's qualitative rating of a base score, upper case as the CVSS JSON schemas spell it. */
export function baseSeverity(score: number): 'NONE' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL' {
  if (score === 0) return 'NONE';
  if (score < 4) return 'LOW';
  if (score < 7) return 'MEDIUM';
  if (score < 9) return 'HIGH';
  return 'CRITICAL';
}
