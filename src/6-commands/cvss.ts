import { createRequire } from 'node:module';
import type cvssModule from 'ae-cvss-calculator';
import type { Severity } from './grammar.js';

// Required on the first vector to score (#16): the calculator (~8 MB loaded) is seldom needed by
// a running service. CommonJS, so it loads synchronously.
let calculator: typeof cvssModule | null = null;
const loadCalculator = (): typeof cvssModule =>
  (calculator ??= createRequire(import.meta.url)('ae-cvss-calculator') as typeof cvssModule);

export type CvssScore =
  | { ok: true; version: '3.1' | '4.0'; vector: string; score: number; severity: Severity }
  | { ok: false; reason: string };

/** FIRST's qualitative rating scale (CVSS v3.1 §5, v4.0 §6). */
export function severityOf(score: number): Severity {
  if (score === 0) return 'none';
  if (score < 4) return 'low';
  if (score < 7) return 'medium';
  if (score < 9) return 'high';
  return 'critical';
}

/**
 * Validates and scores a CVSS 3.1 or 4.0 vector with ae-cvss-calculator (metæffekt), which
 * implements FIRST's specifications; every base metric must be given. Pure.
 */
export function scoreCvss(vector: string): CvssScore {
  const v = vector.trim();
  const version = v.startsWith('CVSS:3.1/') ? '3.1' : v.startsWith('CVSS:4.0/') ? '4.0' : null;
  if (version === null) return { ok: false, reason: 'only CVSS:3.1/… and CVSS:4.0/… vectors are accepted' };
  try {
    const { Cvss3P1, Cvss4P0 } = loadCalculator();
    const parsed = version === '3.1' ? new Cvss3P1(v) : new Cvss4P0(v);
    if (!parsed.isBaseFullyDefined()) return { ok: false, reason: 'every base metric must be given' };
    // The calculator keeps unknown values silently: the vector must read back unchanged.
    const given = new Set(v.split('/').slice(1));
    const known = new Set(parsed.toString().split('/').slice(1));
    const unknown = [...given].filter((part) => !known.has(part));
    if (unknown.length > 0) return { ok: false, reason: `unknown metric value(s): ${unknown.join(', ')}` };
    const score = parsed.calculateScores().base;
    if (typeof score !== 'number') return { ok: false, reason: 'the vector has no base score' };
    return { ok: true, version, vector: v, score, severity: severityOf(score) };
  } catch (err) {
    return { ok: false, reason: `not a valid CVSS ${version} vector (${(err as Error).message})` };
  }
}
