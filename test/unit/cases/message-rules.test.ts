import { describe, expect, it } from 'vitest';
import type { FoundKey, SignatureVerdict } from '../../../src/2-decode/types.js';
import { toState } from '../../../src/7-cases/rules/case-row.js';
import {
  decideAutomated,
  decideFollowUp,
  decideNewReport,
  staffNotificationGroups,
} from '../../../src/7-cases/rules/message.js';
import { AT, caseRow, config, ctx, mail } from './rules-support.js';
import { withoutKey } from '../../support/builders.js';

const newFacts = {
  year: 2026,
  seq: 4,
  storedKeys: [],
  correspondent: { provenPin: false, repliedToUs: false },
  acksLastHour: 0,
  signature: null,
};
const key: FoundKey = {
  fingerprint: 'BBBB',
  armored: 'K',
  source: 'attachment',
  addresses: ['reporter1@psirt.test'],
};

describe('decideNewReport', () => {
  it('opens the case, acknowledges the reporter on their thread, tells every staff member in one mail (#16)', () => {
    const c = decideNewReport(
      mail({ references: ['r0@x'] }),
      { kind: 'new-report', linkedTo: 'SEC-2026-0001' },
      [],
      newFacts,
      ctx,
    );
    expect(c.newCase).toMatchObject({
      id: 'SEC-2026-0004',
      reporterAddress: 'reporter1@psirt.test',
      flags: [],
    });
    expect(c.links).toEqual([{ caseId: 'SEC-2026-0004', otherId: 'SEC-2026-0001', kind: 'quoted-tag' }]);
    expect(c.events.map((e) => e.type)).toEqual(['case.opened', 'acknowledgment.queued', 'staff.notified']);
    expect(c.events[0]?.data).toEqual({ messageRowId: 7, flags: [], linkedTo: 'SEC-2026-0001' });
    // #16: the three test staff all have keys: one row to all of them, not one row each.
    expect(c.outbox.map((o) => o.kind)).toEqual(['acknowledgment', 'staff-notification']);
    expect(c.outbox[1]).toMatchObject({
      recipients: ['alice@psirt.test', 'bob@psirt.test', 'carol@psirt.test'],
      dedupeKey: 'notify:7:keyed',
    });
    expect(c.events[2]?.data).toEqual({ messageRowId: 7, event: 'new-report', staff: 3, mails: 1 });
    expect(c.outbox[0]).toMatchObject({
      recipients: ['reporter1@psirt.test'],
      inReplyTo: 'm7@reporter.test',
      references: ['r0@x', 'm7@reporter.test'],
      dedupeKey: 'ack:7',
    });
    expect(c.acknowledge).toMatchObject({
      effect: 'insert',
      state: 'open',
      dueAt: '2026-11-24T12:10:00.000Z',
    });
    expect(c.deadlines?.upserts.map((d) => d.kind)).toEqual(['triage', 'verify']);
    expect(c.message).toEqual({
      rowId: 7,
      caseId: 'SEC-2026-0004',
      failure: null,
      sender: 'reporter1@psirt.test',
      verdict: null,
    });
  });

  it('holds the acknowledgment of a first contact over the limit and cancels its deadline (flood guard)', () => {
    const c = decideNewReport(
      mail(),
      { kind: 'new-report', linkedTo: null },
      [],
      { ...newFacts, acksLastHour: 1 },
      ctx,
    );
    expect(c.outbox.some((o) => o.kind === 'acknowledgment')).toBe(false);
    expect(c.events[1]).toMatchObject({
      type: 'acknowledgment.held',
      data: { reason: 'first-contact', limit: 1, lastHour: 1, knownBy: null },
    });
    expect(c.acknowledge).toMatchObject({ effect: 'insert', state: 'cancelled' });
    expect(c.outbox[0]?.payload).toMatchObject({
      ackHeld: { reason: 'first-contact', limit: 1, lastHour: 1 },
    });
    expect(
      c.deadlines?.escalations
        .filter((e) => e.deadline === 'acknowledge')
        .every((e) => e.state === 'stopped'),
    ).toBe(true);
  });

  it('a valid signature by the key the report brought makes the sender known (its key is pinned first)', () => {
    const signature: SignatureVerdict = {
      state: 'valid',
      fingerprint: 'bbbb',
      keyId: 'b',
      createdAt: AT,
      digest: 'd',
      format: 'pgp-mime',
    };
    const c = decideNewReport(
      mail(),
      { kind: 'new-report', linkedTo: null },
      [key],
      { ...newFacts, acksLastHour: 1, signature },
      ctx,
    );
    expect(c.events.map((e) => e.type)).toEqual([
      'case.opened',
      'reporter-key.pinned',
      'acknowledgment.queued',
      'staff.notified',
    ]);
    expect(c.events[2]?.data).toEqual({ messageRowId: 7, knownBy: 'signature' });
  });

  it('flags the case when the report brings a key that differs from the pinned one', () => {
    const stored = [{ id: 1, fingerprint: 'AAAA', status: 'pinned' }];
    const c = decideNewReport(
      mail({ flags: ['corrupt'] }),
      { kind: 'new-report', linkedTo: null },
      [key],
      { ...newFacts, storedKeys: stored },
      ctx,
    );
    expect(c.newCase?.flags).toEqual(['corrupt', 'key-changed']);
    expect(c.events[1]).toMatchObject({
      type: 'reporter-key.changed',
      actor: 'reporter:reporter1@psirt.test',
    });
  });

  it('skips the acknowledgment of a mail without sender', () => {
    const c = decideNewReport(
      mail({ sender: '', actor: 'unknown' }),
      { kind: 'new-report', linkedTo: null },
      [],
      newFacts,
      ctx,
    );
    expect(c.events[1]).toMatchObject({
      type: 'acknowledgment.skipped',
      data: { reason: 'no sender address' },
    });
    expect(c.message.sender).toBeNull();
  });
});

describe('decideFollowUp', () => {
  const base = { caseFlags: [], storedKeys: [], answeredOutbox: null, deadlines: [], pauses: [] };

  it('records it and tells staff; a reply to our mail proves the mailbox', () => {
    const c = decideFollowUp(
      mail(),
      { kind: 'follow-up', caseId: 'SEC-2026-0001', matchedBy: 'in-reply-to' },
      [],
      { ...base, caseRow: caseRow(), answeredOutbox: 3 },
      ctx,
    );
    expect(c.events.map((e) => e.type)).toEqual([
      'case.follow-up',
      'reporter.replied-to-us',
      'staff.notified',
    ]);
    expect(c.caseWrites).toEqual({ id: 'SEC-2026-0001', touch: true });
    expect(c.deadlines).toBeNull();
    expect(c.outbox[0]?.subject).toBe('[SEC-2026-0001] Follow-up: XSS in the login form');
  });

  it('runs the paused clock again when the case waited on the reporter', () => {
    const pauses = [
      { at: '2026-11-24T11:05:00.000Z', type: 'case.waiting-on-reporter', data: { waiting: true } },
    ];
    const c = decideFollowUp(
      mail(),
      { kind: 'follow-up', caseId: 'SEC-2026-0001', matchedBy: 'references' },
      [],
      { ...base, caseRow: caseRow({ waiting_on_reporter: 1 }), pauses },
      ctx,
    );
    expect(c.caseWrites).toMatchObject({ clearWaiting: true });
    expect(c.events[1]).toMatchObject({ type: 'case.waiting-on-reporter', data: { waiting: false } });
    // Paused 11:05 to 12:00: triage (600 s after 11:00) moves out by as long.
    expect(c.deadlines?.upserts[0]).toEqual({
      kind: 'triage',
      dueAt: '2026-11-24T12:05:00.000Z',
      state: 'open',
      metAt: null,
    });
  });

  it('keeps a protected case subject out of the clear notification', () => {
    const c = decideFollowUp(
      mail(),
      { kind: 'follow-up', caseId: 'SEC-2026-0001', matchedBy: 'in-reply-to' },
      [],
      { ...base, caseRow: caseRow({ subject: '...' }) },
      ctx,
    );
    expect(c.outbox[0]?.subject).toBe('[SEC-2026-0001] Follow-up: ...');
    expect(toState(caseRow()).waitingOnReporter).toBe(false);
  });
});

describe('decideAutomated', () => {
  it('notes a delivery report on the row it is about, and answers nothing', () => {
    const c = decideAutomated(
      mail(),
      {
        kind: 'automated',
        reason: 'delivery-report',
        caseId: 'SEC-2026-0001',
        bounce: { outboxId: 9, caseId: 'SEC-2026-0001' },
      },
      { action: 'failed', status: '5.1.1' },
    );
    expect(c.bounce).toEqual({ outboxId: 9, error: 'delivery report: failed 5.1.1' });
    expect(c.events).toEqual([
      expect.objectContaining({
        type: 'outbox.bounced',
        data: { messageRowId: 7, outboxId: 9, action: 'failed', status: '5.1.1' },
      }),
    ]);
    expect(c.outbox).toEqual([]);
    expect(c.at).toBe(AT);
  });
});

describe('staff notifications, one row per group that gets the same mail (#16)', () => {
  const [alice, bob, carol] = config.staff;
  if (alice === undefined || bob === undefined || carol === undefined) throw new Error('test staff');
  const mixed = { ...ctx, config: { ...config, staff: [alice, withoutKey(bob), carol] } };

  it('puts every member with a key in one group and every member without one in another, in config order', () => {
    expect(staffNotificationGroups(mixed.config.staff)).toEqual([
      { group: 'keyed', addresses: ['alice@psirt.test', 'carol@psirt.test'] },
      { group: 'keyless', addresses: ['bob@psirt.test'] },
    ]);
    expect(staffNotificationGroups([])).toEqual([]);
  });

  it('a new report to staff with and without keys: two rows, a dedupe key per message row and group', () => {
    const c = decideNewReport(mail(), { kind: 'new-report', linkedTo: null }, [], newFacts, mixed);
    const notes = c.outbox.filter((o) => o.kind === 'staff-notification');
    expect(notes.map((o) => [o.dedupeKey, o.recipients])).toEqual([
      ['notify:7:keyed', ['alice@psirt.test', 'carol@psirt.test']],
      ['notify:7:keyless', ['bob@psirt.test']],
    ]);
    expect(notes[0]?.payload).toEqual(notes[1]?.payload);
    expect(c.events.find((e) => e.type === 'staff.notified')?.data).toEqual({
      messageRowId: 7,
      event: 'new-report',
      staff: 3,
      mails: 2,
    });
  });

  it('a follow-up gets the same groups under keys of its own message row', () => {
    const c = decideFollowUp(
      mail({ messageRowId: 9 }),
      { kind: 'follow-up', caseId: 'SEC-2026-0001', matchedBy: 'in-reply-to' },
      [],
      { caseFlags: [], storedKeys: [], answeredOutbox: null, deadlines: [], pauses: [], caseRow: caseRow() },
      mixed,
    );
    expect(c.outbox.map((o) => o.dedupeKey)).toEqual(['notify:9:keyed', 'notify:9:keyless']);
  });
});
