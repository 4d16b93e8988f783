import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DecodedAttachment } from '../../../src/2-decode/types.js';
import {
  ReportCache,
  reportView,
  UNDECODED_VIEW,
  type ReportView,
} from '../../../src/8-outbox/report-view.js';
import { loadTemplates } from '../../../src/8-outbox/templates.js';
import { buildDecoded } from '../../support/builders.js';
import { REPO } from '../../support/stack.js';

const attachment = (over: Partial<DecodedAttachment> = {}): DecodedAttachment => ({
  filename: 'report.txt',
  contentType: 'text/plain',
  size: 30,
  sha256: 'ab'.repeat(32),
  content: Buffer.from('SQL injection in /search?q=...'),
  decrypted: true,
  contentOmitted: false,
  ...over,
});

describe('reportView()', () => {
  it('appends a decrypted text attachment, so staff can read a report sent as report.txt.gpg', () => {
    const view = reportView(buildDecoded({ text: 'see attachment', attachments: [attachment()] }));
    expect(view.report).toContain(
      '----- decrypted attachment report.txt -----\nSQL injection in /search?q=...',
    );
  });

  it('does not inline attachments that were sent in clear or whose content was not kept', () => {
    const view = reportView(
      buildDecoded({
        text: 'x',
        attachments: [
          attachment({ decrypted: false }),
          attachment({ contentOmitted: true, content: Buffer.alloc(0) }),
        ],
      }),
    );
    expect(view.report).toBe('x');
    expect(view.attachments).toHaveLength(2);
  });

  it('carries decode problems to the staff notification', () => {
    const view = reportView(buildDecoded({ problems: ['Autocrypt header is malformed'] }));
    const text = loadTemplates(join(REPO, 'config', 'templates')).render('staff-notification', {
      caseId: 'SEC-2026-0001',
      followUp: false,
      sender: 'reporter1@psirt.test',
      receivedAt: 'now',
      flags: '',
      triageBy: 'soon',
      subject: 's',
      encryption: view.encryption,
      signature: view.signature,
      keyChanged: false,
      quarantined: false,
      attachments: view.attachments,
      problems: view.problems,
      report: view.report,
    });
    expect(text).toContain('Decoding notes:\r\n  - Autocrypt header is malformed');
  });
});

describe('ReportCache (#16)', () => {
  const view = (text: string): ReportView => ({ ...UNDECODED_VIEW, report: text });
  const never = (): Promise<ReportView> => Promise.reject(new Error('decoded again'));

  it("keeps a whole burst's views, so no staff notification decodes its report again", async () => {
    const cache = new ReportCache();
    for (let id = 1; id <= 300; id++) cache.put(id, view('x'.repeat(5000)));
    // The first of the burst is still there after the 300th (the old cache kept 8).
    await expect(cache.get(1, never)).resolves.toMatchObject({ report: 'x'.repeat(5000) });
    expect(cache.size).toBe(300);
  });

  it('holds no more text than its budget, dropping the oldest first, and never a view over a quarter of it', async () => {
    const cache = new ReportCache({ maxChars: 10_000 });
    for (let id = 1; id <= 5; id++) cache.put(id, view('y'.repeat(2000)));
    cache.put(6, view('z'.repeat(2000)));
    expect(cache.size).toBe(5);
    await expect(cache.get(1, () => Promise.resolve(view('again')))).resolves.toMatchObject({
      report: 'again',
    });
    cache.put(7, view('w'.repeat(2501)));
    await expect(cache.get(7, () => Promise.resolve(view('loaded')))).resolves.toMatchObject({
      report: 'loaded',
    });
  });

  it('shares one decode between concurrent lookups and forgets a failed one', async () => {
    const cache = new ReportCache();
    let loads = 0;
    const load = (): Promise<ReportView> => {
      loads += 1;
      return Promise.resolve(view('once'));
    };
    await Promise.all([cache.get(9, load), cache.get(9, load)]);
    expect(loads).toBe(1);
    await expect(cache.get(10, () => Promise.reject(new Error('bad mail')))).rejects.toThrow('bad mail');
    await Promise.resolve();
    await expect(cache.get(10, () => Promise.resolve(view('second try')))).resolves.toMatchObject({
      report: 'second try',
    });
  });
});
