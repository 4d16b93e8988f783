import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../../src/3-unwrap/unwrap.js';
import { decodeDeps, readMail } from '../../support/mail-fixtures.js';

const decode = async (name: string) => decodeMessage(readMail(name), await decodeDeps());

describe('decodeMessage() on delivery status notifications (RFC 3464)', () => {
  it('reads the returned Message-ID, Action, Status and Final-Recipient from a message/rfc822 DSN', async () => {
    const d = await decode('bounce-dsn.eml');
    expect(d.delivery).toEqual({
      originalMessageId: 'case-1.ack@psirt.test',
      action: 'failed',
      status: '5.1.1',
      recipient: 'gone@reporter.test',
    });
  });

  it('reads a DSN that returns only the headers (text/rfc822-headers, folded Message-ID)', async () => {
    const d = await decode('bounce-dsn-headers-only.eml');
    expect(d.delivery).toEqual({
      originalMessageId: 'case-2.status-1@psirt.test',
      action: 'delayed',
      status: '4.4.7',
      recipient: 'slow@reporter.test',
    });
  });

  it('keeps the delivery-status fields out of the text', async () => {
    const d = await decode('bounce-dsn.eml');
    expect(d.text).toContain('could not\nbe delivered');
    expect(d.text).not.toContain('Reporting-MTA');
  });

  it('leaves delivery null for mail that is not a DSN', async () => {
    expect((await decode('auto-reply-out-of-office.eml')).delivery).toBeNull();
  });
});
