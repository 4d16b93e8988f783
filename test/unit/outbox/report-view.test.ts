import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DecodedAttachment } from '../../../src/2-decode/types.js';
import { reportView } from '../../../src/8-outbox/report-view.js';
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
