import { describe, expect, it } from 'vitest';
import { rejectedRecipients } from '../../../src/8-outbox/smtp-transport.js';

/**
 * #16: a grouped staff notification is one SMTP transaction to several recipients; nodemailer
 * resolves when the relay took some of them and lists the others in `rejected`, with their
 * errors in `rejectedErrors` (as its SMTP connection builds them: code EENVELOPE, the reply code,
 * the reply text, the recipient).
 */
const refusal = (recipient: string, responseCode: number, response: string) =>
  Object.assign(new Error('Recipient command failed'), {
    code: 'EENVELOPE',
    command: 'RCPT TO',
    responseCode,
    response,
    recipient,
  });

const group = ['alice@psirt.test', 'bob@psirt.test', 'carol@psirt.test'];

describe('rejectedRecipients()', () => {
  it('names each refused recipient, permanent for a 5xx and not for a 4xx, with the relay reply', () => {
    const info = {
      accepted: ['alice@psirt.test'],
      rejected: ['bob@psirt.test', 'carol@psirt.test'],
      rejectedErrors: [
        refusal('bob@psirt.test', 550, '550 5.1.1 <bob@psirt.test>: Recipient address rejected'),
        refusal('carol@psirt.test', 452, '452 4.2.2 Mailbox full'),
      ],
    };
    expect(rejectedRecipients(group, info)).toEqual([
      {
        address: 'bob@psirt.test',
        permanent: true,
        error: 'bob@psirt.test: 550 5.1.1 <bob@psirt.test>: Recipient address rejected',
      },
      { address: 'carol@psirt.test', permanent: false, error: 'carol@psirt.test: 452 4.2.2 Mailbox full' },
    ]);
  });

  it('nothing when every recipient took the mail', () => {
    const info = { accepted: group, rejected: [], response: '250 2.0.0 Ok: queued' };
    expect(rejectedRecipients(group, info)).toEqual([]);
    expect(rejectedRecipients(group, {})).toEqual([]);
  });

  it('spells the address as the row does, and counts a refusal without a reply code as transient', () => {
    expect(rejectedRecipients(group, { rejected: ['Bob@PSIRT.test'], rejectedErrors: [] })).toEqual([
      { address: 'bob@psirt.test', permanent: false, error: 'bob@psirt.test: refused' },
    ]);
  });

  it('ignores an address that is none of the recipients', () => {
    expect(rejectedRecipients(group, { rejected: ['mallory@psirt.test'] })).toEqual([]);
  });
});
