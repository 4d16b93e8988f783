import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withChromium } from '../support/chromium.js';
import { runCli } from '../support/cli.js';
import { writeExampleConfig } from '../support/example-config.js';
import { withGpg } from '../support/gpg.js';

/**
 * `psirt program` (#12): the ISO/IEC 18974 documents rendered by the built CLI from
 * config/example.toml (its secrets in a temporary folder), and the HTML book as a reader's
 * browser shows it.
 */

const FILES = [
  'security.txt',
  'SECURITY.md',
  'procedure.md',
  'roles.md',
  'staffing.md',
  'expertise.md',
  'raci.md',
  'book.html',
];
const CLAUSES = ['4.2.1.1', '4.2.1.2', '4.2.2.1', '4.2.2.2', '4.2.2.3', '4.2.2.4'];

async function renderInto(env: Record<string, string> = {}, edit?: (toml: string) => string) {
  const { file } = writeExampleConfig();
  if (edit) writeFileSync(file, edit(readFileSync(file, 'utf8')));
  const out = join(mkdtempSync(join(tmpdir(), 'psirt-program-')), 'docs');
  const r = await runCli(['--config', file, 'program', '--out', out, '--json'], env);
  return { r, out };
}

describe('psirt program --out DIR', () => {
  it('writes every document into a new folder and lists each with its SHA-256', async () => {
    const { r, out } = await renderInto();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const listed = JSON.parse(r.stdout) as {
      files: { file: string; sha256: string }[];
      configDigest: string;
    };
    expect(listed.files.map((f) => f.file)).toEqual(FILES);
    for (const f of listed.files) {
      const bytes = readFileSync(join(out, f.file));
      expect(createHash('sha256').update(bytes).digest('hex'), f.file).toBe(f.sha256);
    }
    expect(readFileSync(join(out, 'procedure.md'), 'utf8')).toContain(`sha256:${listed.configDigest}`);
  });

  it('writes security.txt cleartext-signed by the team key (gpg --verify)', async () => {
    const { r, out } = await renderInto();
    expect(r.code).toBe(0);
    const signed = readFileSync(join(out, 'security.txt'), 'utf8');
    expect(signed.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')).toBe(true);
    const verdict = withGpg(['team.pub'], (gpg) => gpg(['--verify'], signed));
    expect(verdict.status).toMatch(/\[GNUPG:\] VALIDSIG 70391E1F60DD1FCF4E665A800F2409846A82D91C /);
  });

  it('opens book.html in Chromium: six chapters, no console error, no request', async () => {
    const { r, out } = await renderInto({ PSIRT_DEADLINES__VERIFY__AMOUNT: '5' });
    expect(r.code).toBe(0);
    await withChromium(join(out, 'book.html'), async ({ page, errors, requests }) => {
      const chapters = await page.locator('section > h2').allTextContents();
      expect(chapters.map((h) => h.split(' ')[0])).toEqual(CLAUSES);
      const text = await page.locator('#clause-4-2-1-2').innerText();
      expect(text).toContain('given a severity within 5 business days of receipt');
      expect(await page.locator('nav a').count()).toBe(6);
      expect(await page.locator('script').count()).toBe(0);
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
    });
  });

  it('stops with exit 2 and one line naming public_channel.expires when it is unset', async () => {
    const { r, out } = await renderInto({}, (toml) => toml.replace(/^expires = .*$/m, ''));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^psirt: .*public_channel\.expires/);
    expect(() => readFileSync(join(out, 'procedure.md'))).toThrow();
  });
});
