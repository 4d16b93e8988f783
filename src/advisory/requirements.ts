import type { AdvisorySnapshot } from './model.js';
import { osvPackage } from './osv.js';
import { productIds, type AdvisoryConfig } from './view-common.js';

export const FORMATS = ['csaf', 'osv', 'cve', 'markdown'] as const;
export type AdvisoryFormat = (typeof FORMATS)[number];

/** CVE JSON 5 `descriptions[].value` and `title` limits (CVE_Record_Format.json). */
const CVE_DESCRIPTION_MAX = 4096;

/**
 * What a format still needs before it can be rendered (issue #14): one line per gap, naming the
 * command or the config key that sets it. Empty: the format can be rendered. A case missing what
 * a format requires gets this list, never a half-valid file. Pure.
 */
export function missingFor(
  format: AdvisoryFormat,
  s: AdvisorySnapshot,
  config: AdvisoryConfig,
  cweName?: (id: string) => string | null,
): string[] {
  const f = s.fields;
  const out: string[] = [];
  if (f.title === null || f.title.trim() === '') out.push('/title "<title>"');
  if (f.summary === null || f.summary.trim() === '') out.push('/summary (body of a command mail)');
  if (f.affected.length === 0) out.push('/affects <product> <range>');
  const index = (id: string): number => config.products.findIndex((p) => p.id === id);
  for (const pid of productIds(s))
    if (index(pid) < 0) out.push(`[[products]]: ${pid} is named in the advisory but no longer configured`);
  if (format === 'csaf' && f.cwe !== null && cweName !== undefined && cweName(f.cwe) === null)
    out.push(`/cwe: ${f.cwe} is not in the CWE catalogue CSAF checks names against (set a listed CWE)`);
  if (format === 'osv') {
    for (const pid of new Set(f.affected.map((a) => a.product))) {
      const i = index(pid);
      const p = config.products[i];
      if (p !== undefined && osvPackage(p) === null)
        out.push(`products[${i}] (${pid}): purl or osv_ecosystem + osv_package`);
    }
  }
  if (format === 'cve') {
    if (s.cve === null) out.push('/cve <CVE-…>');
    if (config.advisory.cna_org_id === '') out.push('advisory.cna_org_id');
    if (f.summary !== null && f.summary.length > CVE_DESCRIPTION_MAX)
      out.push(
        `/summary: at most ${CVE_DESCRIPTION_MAX} characters in a CVE record (${f.summary.length} now)`,
      );
    if (s.advisoryUrl === null && f.references.length === 0)
      out.push('/ref <https://…> or /publish <https://…> (a CVE record needs a reference)');
  }
  return out;
}
