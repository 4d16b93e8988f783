import { describe, expect, it } from 'vitest';
import type { SignatureVerdict } from '../../../src/2-decode/types.js';
import { decideFollowUp } from '../../../src/7-cases/rules/message.js';
import type { CreditFacts } from '../../../src/7-cases/rules/credit-preference.js';
import { caseRow, ctx, mail } from './rules-support.js';

const valid = (fingerprint: string): SignatureVerdict => ({
  state: 'valid',
  fingerprint,
  keyId: 'K',
  createdAt: '2026-11-24T11:00:00.000Z',
  digest: 'd',
  format: 'pgp-mime',
});
const credit = (over: Partial<CreditFacts> = {}): CreditFacts => ({
  reporterAddress: 'reporter1@psirt.test',
  reporterPins: ['AAAA'],
  text: 'Thanks, looks right.\n\nCredit: Jane Doe\n',
  signature: null,
  drafts: [{ messageId: 'sec-2026-0001.advisory-draft.x@psirt.test', number: 1 }],
  ...over,
});
const base = { caseFlags: [], storedKeys: [], answeredOutbox: null, deadlines: [], pauses: [] };
const followUp = (sender: string, c: CreditFacts, over: Parameters<typeof mail>[0] = {}) =>
  decideFollowUp(
    mail({ sender, actor: `reporter:${sender}`, ...over }),
    { kind: 'follow-up', caseId: 'SEC-2026-0001', matchedBy: 'in-reply-to' },
    [],
    { ...base, caseRow: caseRow(), credit: c },
    ctx,
  );
const types = (c: ReturnType<typeof decideFollowUp>) => c.events.map((e) => e.type);

describe("the reporter's Credit: line on a follow-up (#14)", () => {
  it('from the reporter address: recorded, evented, marked in the staff notification', () => {
    const c = followUp('reporter1@psirt.test', credit(), {
      inReplyTo: 'sec-2026-0001.advisory-draft.x@psirt.test',
    });
    expect(c.caseWrites).toEqual({ id: 'SEC-2026-0001', touch: true, creditPreference: 'Jane Doe' });
    expect(c.events.find((e) => e.type === 'case.credit-preference')?.data).toMatchObject({
      credit: 'Jane Doe',
      by: 'address',
      draft: 1,
    });
    expect(c.outbox[0]?.payload).toMatchObject({
      template: 'staff-notification',
      credit: { stated: { credit: 'Jane Doe', by: 'address' }, answersDraft: 1 },
    });
  });

  it('Credit: none records the wish not to be named', () => {
    const c = followUp('reporter1@psirt.test', credit({ text: 'Credit: none' }));
    expect(c.caseWrites).toMatchObject({ creditPreference: '' });
  });

  it('from another address: an ordinary follow-up, nothing recorded, the value in no event', () => {
    const c = followUp('mallory@evil.test', credit());
    expect(c.caseWrites).toEqual({ id: 'SEC-2026-0001', touch: true });
    expect(types(c)).toContain('case.credit-line-ignored');
    expect(types(c)).not.toContain('case.credit-preference');
    expect(JSON.stringify(c.events)).not.toContain('Jane Doe');
    expect(c.outbox[0]?.payload).toMatchObject({ credit: { ignored: 'not-the-reporter' } });
  });

  it('from another address signed by the pinned key: recorded; by another key: not', () => {
    const signed = followUp('jane@elsewhere.test', credit({ signature: valid('aaaa') }));
    expect(signed.caseWrites).toMatchObject({ creditPreference: 'Jane Doe' });
    expect(signed.events.find((e) => e.type === 'case.credit-preference')?.data).toMatchObject({
      by: 'signature',
    });
    const other = followUp('jane@elsewhere.test', credit({ signature: valid('BBBB') }));
    expect(other.caseWrites).not.toHaveProperty('creditPreference');
  });

  it('a Credit: line only in the quoted draft records nothing', () => {
    const c = followUp(
      'reporter1@psirt.test',
      credit({ text: 'All good.\n\nOn Tue, PSIRT wrote:\n> Credit: Your Name\n' }),
    );
    expect(c.caseWrites).toEqual({ id: 'SEC-2026-0001', touch: true });
    expect(types(c)).not.toContain('case.credit-preference');
    expect(types(c)).not.toContain('case.credit-line-ignored');
  });
});
