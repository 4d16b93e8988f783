import { describe, expect, it } from 'vitest';
import { isPermanent } from '../../../src/8-outbox/deliver.js';

describe('isPermanent()', () => {
  it.each([
    ['a 5xx reply', { code: 'EENVELOPE', responseCode: 550 }, true],
    ['a local envelope refusal without any SMTP reply (#10)', { code: 'EENVELOPE', command: 'API' }, true],
    ['a 4xx reply to RCPT TO', { code: 'EENVELOPE', responseCode: 451 }, false],
    ['a 4xx reply to the message', { code: 'EMESSAGE', responseCode: 452 }, false],
    ['a refused connection', { code: 'ECONNECTION' }, false],
    ['something that is not an error', null, false],
  ])('judges %s: permanent %s', (_, err, permanent) => {
    expect(isPermanent(err)).toBe(permanent);
  });
});
