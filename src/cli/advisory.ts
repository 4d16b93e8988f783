import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCsaf } from '../advisory/csaf.js';
import { renderCve } from '../advisory/cve.js';
import { advisoryView } from '../advisory/markdown.js';
import type { AdvisorySnapshot } from '../advisory/model.js';
import { renderOsv } from '../advisory/osv.js';
import { FORMATS, missingFor, type AdvisoryFormat } from '../advisory/requirements.js';
import { cweName, validateCsaf, validateCve, validateOsv, type FormatProblem } from '../advisory/validate.js';
import { loadTemplates } from '../8-outbox/templates.js';
import { currentAdvisory, readAdvisoryVersion } from '../7-cases/advisory-store.js';
import type { Config } from '../config/schema.js';
import { packageRoot } from '../core/paths.js';
import { EXIT_FAILED, positive, withCaseDatabase } from './context.js';
import { readerVaultOf } from './records.js';

export interface AdvisoryOptions {
  format: string;
  revision?: string;
  draft?: string;
  out?: string;
}

const fail = (lines: string[]): void => {
  process.stderr.write(lines.map((l) => `${l}\n`).join(''));
  process.exitCode = EXIT_FAILED;
};

/** The rendered document and its official validation (none for Markdown). */
async function render(
  format: AdvisoryFormat,
  s: AdvisorySnapshot,
  cfg: Config,
): Promise<{ text: string; problems: FormatProblem[] }> {
  const json = (doc: unknown): string => `${JSON.stringify(doc, null, 2)}\n`;
  if (format === 'csaf') {
    const doc = renderCsaf(s, cfg, cweName);
    return { text: json(doc), problems: await validateCsaf(doc) };
  }
  if (format === 'osv') {
    const doc = renderOsv(s, cfg);
    return { text: json(doc), problems: validateOsv(doc) };
  }
  if (format === 'cve') {
    const doc = renderCve(s, cfg, cweName);
    return { text: json(doc), problems: validateCve(doc) };
  }
  const dir = cfg.templates.dir === '' ? join(packageRoot(), 'config', 'templates') : cfg.templates.dir;
  const text = loadTemplates(dir).render('advisory', advisoryView(s, cfg)).replace(/\r\n/g, '\n');
  return { text, problems: [] };
}

/**
 * `psirt advisory <case-id> --format csaf|osv|cve|markdown [--revision N | --draft N] [--out FILE]`
 * (issue #14): the advisory as the case stands now, or a frozen version. Exit 1 with what is
 * missing, or with the validator's problems; never a half-valid file. `--out` is written 0600:
 * before publication the advisory is confidential.
 */
export async function advisory(cfg: Config, id: string, opts: AdvisoryOptions): Promise<void> {
  const format = opts.format as AdvisoryFormat;
  if (!FORMATS.includes(format)) {
    fail([`psirt: --format must be one of ${FORMATS.join(', ')}`]);
    return;
  }
  if (opts.revision !== undefined && opts.draft !== undefined) {
    fail(['psirt: give --revision or --draft, not both']);
    return;
  }
  const revision = opts.revision === undefined ? undefined : positive(opts.revision, '--revision');
  const draft = opts.draft === undefined ? undefined : positive(opts.draft, '--draft');
  const vault = await readerVaultOf(cfg);
  const snapshot = withCaseDatabase(cfg, (db) => {
    if (revision !== undefined) return readAdvisoryVersion(db, vault, id, 'revision', revision);
    if (draft !== undefined) return readAdvisoryVersion(db, vault, id, 'draft', draft);
    return currentAdvisory(db, vault, id, new Date().toISOString());
  });
  if (snapshot === null) {
    const what =
      revision !== undefined ? ` revision ${revision}` : draft !== undefined ? ` draft ${draft}` : '';
    fail([`psirt: no case ${id}${what === '' ? '' : ` or it has no${what}`}`]);
    return;
  }
  const missing = missingFor(format, snapshot, cfg, cweName);
  if (missing.length > 0) {
    fail([
      `psirt: ${id}: the ${format} advisory needs (set these, then run again):`,
      ...missing.map((m) => `  ${m}`),
    ]);
    return;
  }
  const { text, problems } = await render(format, snapshot, cfg);
  if (problems.length > 0) {
    fail([
      `psirt: ${id}: the ${format} document fails its validator (nothing written):`,
      ...problems.map((p) => `  ${p.path === '' ? '/' : p.path}: ${p.message}`),
    ]);
    return;
  }
  if (opts.out === undefined) process.stdout.write(text);
  else {
    writeFileSync(opts.out, text, { mode: 0o600 });
    // An existing file keeps its mode on write: make it 0600 too.
    chmodSync(opts.out, 0o600);
  }
}
