import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Page } from 'playwright-core';

/**
 * Opens a rendered HTML file in Debian's headless Chromium (installed by test/stack/stack.sh like
 * Postfix) and reports what a reader would see: console errors, failed requests (a
 * self-contained page makes none), and the page. The browser runs as root with the flags the
 * machine needs (no sandbox, no background networking) and a fresh profile.
 */
export const CHROMIUM = '/usr/bin/chromium';

export interface OpenedPage {
  page: Page;
  /** console.error lines and uncaught page errors. */
  errors: string[];
  /** Every request that left the page for anything but the file itself. */
  requests: string[];
}

export async function withChromium<T>(htmlFile: string, use: (opened: OpenedPage) => Promise<T>): Promise<T> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: run \`bash test/stack/stack.sh start\` (it installs Debian's chromium)`,
    );
  }
  const profile = mkdtempSync(join(tmpdir(), 'psirt-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    const url = pathToFileURL(htmlFile).href;
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => {
      if (r.url() !== url) requests.push(r.url());
    });
    await page.goto(url, { waitUntil: 'load' });
    return await use({ page, errors, requests });
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
