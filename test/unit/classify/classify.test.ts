import { describe, expect, it } from 'vitest';
import { classify, type ClassifyContext, type ThreadIndex } from '../../../src/4-classify/classify.js';
import { parseCaseIdFormat } from '../../../src/core/case-id.js';
import { buildDecoded } from '../../support/builders.js';

const ctx: ClassifyContext = {
  ourAddresses: ['security@psirt.test'],
  staffAddresses: ['alice@psirt.test', 'bob@psirt.test'],
  caseIdPattern: parseCaseIdFormat('SEC-{year}-{seq:4}').pattern,
};

function index(overrides: Partial<ThreadIndex> = {}): ThreadIndex {
  return {
    caseByMessageId: new Map(),
    participantsByCase: new Map([['SEC-2026-0007', ['reporter1@psirt.test']]]),
    sameMessageId: null,
    bouncedOutbox: null,
    ...overrides,
  };
}

describe('classify()', () => {
  it('treats an unthreaded mail from a stranger as a new report', () => {
    expect(classify(buildDecoded(), index(), ctx)).toEqual({ kind: 'new-report', linkedTo: null });
  });

  it('calls a mail whose Message-ID is already stored a duplicate, whatever else it says', () => {
    const msg = buildDecoded({ inReplyTo: 'ack-1@psirt.test' });
    const idx = index({
      sameMessageId: { messageRowId: 4, caseId: 'SEC-2026-0007' },
      caseByMessageId: new Map([['ack-1@psirt.test', 'SEC-2026-0007']]),
    });
    expect(classify(msg, idx, ctx)).toEqual({ kind: 'duplicate', of: 4, caseId: 'SEC-2026-0007' });
  });

  describe('threading', () => {
    it('joins a follow-up threaded only by References to its case', () => {
      const msg = buildDecoded({ references: ['unrelated@x', 'ack-1@psirt.test'], subject: 'no tag here' });
      const idx = index({ caseByMessageId: new Map([['ack-1@psirt.test', 'SEC-2026-0007']]) });
      expect(classify(msg, idx, ctx)).toEqual({
        kind: 'follow-up',
        caseId: 'SEC-2026-0007',
        matchedBy: 'references',
      });
    });

    it('prefers In-Reply-To over References and over the subject tag', () => {
      const msg = buildDecoded({
        inReplyTo: 'ack-2@psirt.test',
        references: ['ack-1@psirt.test'],
        subject: 'Re: [SEC-2026-0007] x',
      });
      const idx = index({
        caseByMessageId: new Map([
          ['ack-1@psirt.test', 'SEC-2026-0007'],
          ['ack-2@psirt.test', 'SEC-2026-0009'],
        ]),
      });
      expect(classify(msg, idx, ctx)).toEqual({
        kind: 'follow-up',
        caseId: 'SEC-2026-0009',
        matchedBy: 'in-reply-to',
      });
    });

    it('uses the subject tag when the sender is already on that case', () => {
      const msg = buildDecoded({ subject: 'Re: [SEC-2026-0007] XSS' });
      expect(classify(msg, index(), ctx)).toEqual({
        kind: 'follow-up',
        caseId: 'SEC-2026-0007',
        matchedBy: 'subject-tag',
      });
    });

    it('opens a new case linked to the old one when a stranger quotes a tag', () => {
      const msg = buildDecoded({
        from: { address: 'mallory@psirt.test', name: null },
        subject: 'Re: [SEC-2026-0007] XSS',
      });
      expect(classify(msg, index(), ctx)).toEqual({ kind: 'new-report', linkedTo: 'SEC-2026-0007' });
    });

    it('ignores a tag of a case that does not exist', () => {
      const msg = buildDecoded({ subject: '[SEC-2026-0999] hello' });
      expect(classify(msg, index(), ctx)).toEqual({ kind: 'new-report', linkedTo: null });
    });
  });

  describe('automated mail (RFC 3834)', () => {
    it.each([
      [{ headers: { autoSubmitted: 'auto-replied' } }, 'auto-submitted'],
      [{ headers: { precedence: 'bulk' } }, 'precedence'],
      [{ headers: { precedence: 'junk' } }, 'precedence'],
      [{ headers: { listId: '<dev.lists.example>' } }, 'mailing-list'],
      [{ headers: { listUnsubscribe: '<mailto:u@example>' } }, 'mailing-list'],
      [{ headers: { xAutoResponseSuppress: 'All' } }, 'auto-response-suppress'],
      [{ headers: { returnPath: '' } }, 'null-sender'],
      [{ from: { address: 'mailer-daemon@psirt.test', name: null } }, 'mailer-daemon'],
      [{ from: { address: 'security@psirt.test', name: null } }, 'own-mail'],
    ] as const)('recognises %j as %s', (overrides, reason) => {
      expect(classify(buildDecoded(overrides), index(), ctx)).toMatchObject({ kind: 'automated', reason });
    });

    it('does not treat Auto-Submitted: no as automated', () => {
      expect(classify(buildDecoded({ headers: { autoSubmitted: 'no' } }), index(), ctx).kind).toBe(
        'new-report',
      );
    });

    it('links a delivery report to the outbox row and case it is about', () => {
      const msg = buildDecoded({
        from: { address: 'mailer-daemon@psirt.test', name: null },
        headers: { contentType: 'multipart/report; report-type=delivery-status', returnPath: '' },
        delivery: {
          originalMessageId: 'ack-1@psirt.test',
          action: 'failed',
          status: '5.1.1',
          recipient: 'x@y',
        },
      });
      const idx = index({ bouncedOutbox: { outboxId: 12, caseId: 'SEC-2026-0007' } });
      expect(classify(msg, idx, ctx)).toEqual({
        kind: 'automated',
        reason: 'delivery-report',
        caseId: 'SEC-2026-0007',
        bounce: { outboxId: 12, caseId: 'SEC-2026-0007' },
      });
    });

    it('keeps an out-of-office reply on the case it answers, without treating it as a follow-up', () => {
      const msg = buildDecoded({ inReplyTo: 'ack-1@psirt.test', headers: { autoSubmitted: 'auto-replied' } });
      const idx = index({ caseByMessageId: new Map([['ack-1@psirt.test', 'SEC-2026-0007']]) });
      expect(classify(msg, idx, ctx)).toMatchObject({ kind: 'automated', caseId: 'SEC-2026-0007' });
    });
  });

  describe('staff mail', () => {
    it('records a staff reply on its case', () => {
      const msg = buildDecoded({
        from: { address: 'alice@psirt.test', name: 'Alice' },
        subject: 'Re: [SEC-2026-0007] x',
      });
      expect(classify(msg, index(), ctx)).toEqual({
        kind: 'staff',
        staff: 'alice@psirt.test',
        caseId: 'SEC-2026-0007',
        matchedBy: 'subject-tag',
      });
    });
  });
});
