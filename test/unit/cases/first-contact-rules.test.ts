import { describe, expect, it } from 'vitest';
import { decideAcknowledgment, knownBy, mayAnswerRefusal } from '../../../src/7-cases/rules/first-contact.js';
import { planKeyPins } from '../../../src/7-cases/rules/keys.js';
import type { FoundKey, SignatureVerdict } from '../../../src/2-decode/types.js';

const SENDER = 'reporter1@psirt.test';
const key = (fingerprint: string, addresses = [SENDER]): FoundKey => ({
  fingerprint,
  armored: `ARMORED ${fingerprint}`,
  source: 'attachment',
  addresses,
});
const signedBy = (fingerprint: string): SignatureVerdict => ({
  state: 'valid',
  fingerprint,
  keyId: fingerprint.slice(-16),
  createdAt: '2026-11-24T12:00:00.000Z',
  digest: 'd',
  format: 'pgp-mime',
});
const limits = { max_first_contact_per_hour: 1, max_per_sender_per_hour: 5 };

describe('key pinning (trust on first use)', () => {
  it('pins the first key for an address and records the event', () => {
    const pins = planKeyPins(SENDER, [key('AAAA')], []);
    expect(pins.inserts).toEqual([
      { fingerprint: 'AAAA', armored: 'ARMORED AAAA', source: 'attachment', status: 'pinned' },
    ]);
    expect(pins.events).toEqual([
      { type: 'reporter-key.pinned', data: { fingerprint: 'AAAA', source: 'attachment' } },
    ]);
    expect(pins.keyChanged).toBe(false);
    expect([...pins.pinned]).toEqual(['AAAA']);
  });

  it('moves last-seen of a stored key, and stores a different key as changed, never swapped in', () => {
    const pins = planKeyPins(
      SENDER,
      [key('AAAA'), key('BBBB')],
      [{ id: 3, fingerprint: 'AAAA', status: 'pinned' }],
    );
    expect(pins.seen).toEqual([3]);
    expect(pins.inserts.map((k) => [k.fingerprint, k.status])).toEqual([['BBBB', 'changed']]);
    expect(pins.events).toEqual([
      { type: 'reporter-key.changed', data: { fingerprint: 'BBBB', source: 'attachment', pinned: 'AAAA' } },
    ]);
    expect(pins.keyChanged).toBe(true);
    expect([...pins.pinned]).toEqual(['AAAA']);
  });

  it('ignores keys that do not name the sender, a key brought twice, and mail without a sender', () => {
    expect(planKeyPins(SENDER, [key('CCCC', ['other@x.test'])], []).inserts).toEqual([]);
    const twice = planKeyPins(SENDER, [key('AAAA'), key('AAAA')], []);
    expect(twice.inserts).toHaveLength(1);
    expect(twice.seen).toEqual([]);
    expect(planKeyPins('', [key('AAAA', [''])], []).inserts).toEqual([]);
  });

  it('a second new key in the same mail is a change of the one pinned a moment ago', () => {
    const pins = planKeyPins(SENDER, [key('AAAA'), key('BBBB')], []);
    expect(pins.inserts.map((k) => k.status)).toEqual(['pinned', 'changed']);
    expect(pins.keyChanged).toBe(true);
  });
});

describe('first contact (issue #10)', () => {
  const none = { provenPin: false, repliedToUs: false };

  it('knows a sender by a valid signature of a pinned key, whatever the case of its fingerprint', () => {
    expect(knownBy(signedBy('aaaa'), new Set(['AAAA']), none)).toBe('signature');
    expect(knownBy(signedBy('BBBB'), new Set(['AAAA']), none)).toBeNull();
    expect(knownBy({ state: 'none' }, new Set(['AAAA']), none)).toBeNull();
  });

  it('then by a proved pinned key, then by a reply to our mail; anyone else is a first contact', () => {
    expect(knownBy(null, new Set(), { provenPin: true, repliedToUs: true })).toBe('pinned-key');
    expect(knownBy(null, new Set(), { provenPin: false, repliedToUs: true })).toBe('replied-to-us');
    expect(knownBy(null, new Set(), none)).toBeNull();
  });

  it('holds the acknowledgment of a first contact at the stricter limit, of a known sender at the other', () => {
    expect(decideAcknowledgment(SENDER, null, 0, limits)).toEqual({ kind: 'send' });
    expect(decideAcknowledgment(SENDER, null, 1, limits)).toEqual({
      kind: 'hold',
      held: { reason: 'first-contact', limit: 1, lastHour: 1 },
    });
    expect(decideAcknowledgment(SENDER, 'signature', 4, limits)).toEqual({ kind: 'send' });
    expect(decideAcknowledgment(SENDER, 'signature', 5, limits)).toEqual({
      kind: 'hold',
      held: { reason: 'rate-limit', limit: 5, lastHour: 5 },
    });
  });

  it('answers nobody when the mail names no sender', () => {
    expect(decideAcknowledgment('', null, 0, limits)).toEqual({ kind: 'skip', reason: 'no sender address' });
  });

  it('limits refusals to staff per hour', () => {
    expect(mayAnswerRefusal(9, 10)).toBe(true);
    expect(mayAnswerRefusal(10, 10)).toBe(false);
  });
});
