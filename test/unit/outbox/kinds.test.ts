import { describe, expect, it } from 'vitest';
import type { NewOutboxRow } from '../../../src/7-cases/command-store.js';
import {
  MAIL_KINDS,
  PayloadError,
  readPayload,
  readPayloadWith,
  type OutboxPayload,
  type Registry,
} from '../../../src/8-outbox/kinds/index.js';
import type { PayloadBase } from '../../../src/8-outbox/kinds/kind.js';
import { embargoEnding, type EmbargoEndingPayload } from './fake-kind.js';

type WithFake = OutboxPayload | EmbargoEndingPayload;
const withFake = { ...MAIL_KINDS, 'embargo-ending': embargoEnding } satisfies Registry<WithFake>;

/** The error readPayloadWith throws for `payload`, or null when it parses. */
function refusal<P extends PayloadBase>(registry: Registry<P>, payload: unknown): PayloadError | null {
  try {
    readPayloadWith(registry, { id: 7, payload });
    return null;
  } catch (err) {
    if (err instanceof PayloadError) return err;
    throw err;
  }
}

describe('mail kinds (#11)', () => {
  describe('when a test adds a fake kind in one module', () => {
    it('the type checker refuses its payload without the required field', () => {
      // @ts-expect-error embargoEnds is required by the fake kind's schema
      const missing: WithFake = {
        template: 'embargo-ending',
        messageRowId: 1,
        autoSubmitted: 'auto-generated',
        flags: [],
      };
      const complete: WithFake = {
        template: 'embargo-ending',
        messageRowId: 1,
        autoSubmitted: 'auto-generated',
        flags: [],
        embargoEnds: '2027-01-15',
      };
      expect([missing.template, complete.template]).toEqual(['embargo-ending', 'embargo-ending']);
    });

    it('the type checker refuses a registry without a module for the new union member', () => {
      // @ts-expect-error the registry lacks the embargo-ending module
      const incomplete: Registry<WithFake> = MAIL_KINDS;
      expect(incomplete).toBe(MAIL_KINDS);
    });

    it('the type checker refuses a module registered for a template the union lacks', () => {
      const registry = {
        ...MAIL_KINDS,
        // @ts-expect-error embargo-ending is not a member of OutboxPayload
        'embargo-ending': embargoEnding,
      } satisfies Registry<OutboxPayload>;
      expect(Object.keys(registry)).toContain('embargo-ending');
    });

    it('its schema refuses the same payload at run time, naming the row, template and field', () => {
      const err = refusal(withFake, {
        template: 'embargo-ending',
        messageRowId: 1,
        autoSubmitted: 'auto-generated',
        flags: [],
      });
      expect(err?.fields).toEqual(['embargoEnds']);
      expect(err?.template).toBe('embargo-ending');
      expect(err?.message).toMatch(/^outbox row 7 \(embargo-ending\): payload does not parse: embargoEnds: /);
    });

    it('its schema accepts the complete payload', () => {
      const payload = {
        template: 'embargo-ending',
        messageRowId: 1,
        autoSubmitted: 'auto-generated',
        flags: [],
        embargoEnds: '2027-01-15',
      };
      expect(refusal(withFake, payload)).toBeNull();
    });
  });

  /** A complete escalation payload, as fireEscalation writes it. */
  const ESCALATION = {
    template: 'escalation',
    messageRowId: 0,
    autoSubmitted: 'auto-generated',
    flags: [],
    escalationId: 1,
    deadline: 'triage',
    dueAt: '2026-11-24T12:00:00.000Z',
    step: 0,
    recipientRole: 'oncall',
    need: {},
  } as const;

  describe('readPayload()', () => {
    it('refuses a template no module renders', () => {
      expect(() => readPayload({ id: 3, payload: { template: 'advisory', autoSubmitted: 'no' } })).toThrow(
        'outbox row 3 ((unknown)): payload does not parse: template: not a known mail kind',
      );
    });

    it('names fields and zod codes only, never a stored key or value (#11 review)', () => {
      const secret = 'rce-in-login-php';
      const payload = { ...ESCALATION, need: { [secret]: true } };
      let message = '';
      try {
        readPayload({ id: 9, payload });
      } catch (err) {
        message = err instanceof PayloadError ? err.message : String(err);
      }
      expect(message).toMatch(
        /^outbox row 9 \(escalation\): payload does not parse: need: unrecognized_keys/,
      );
      expect(message).not.toContain(secret);
    });

    it('refuses a payload that is not an object', () => {
      expect(() => readPayload({ id: 3, payload: null })).toThrow(PayloadError);
    });

    it('refuses an older status mail without its statusEvent instead of sending "triaged"', () => {
      const err = refusal(MAIL_KINDS, {
        template: 'reporter-status',
        messageRowId: 1,
        autoSubmitted: 'auto-generated',
        flags: [],
        snapshot: null,
      });
      expect(err?.fields).toEqual(['statusEvent']);
    });

    it('refuses an escalation without its step instead of counting it as the first', () => {
      const { step, ...withoutStep } = ESCALATION;
      expect(step).toBe(0);
      const err = refusal(MAIL_KINDS, withoutStep);
      expect(err?.fields).toEqual(['step']);
    });

    it('names nested fields by their path', () => {
      const err = refusal(MAIL_KINDS, {
        template: 'staff-notification',
        messageRowId: 1,
        autoSubmitted: 'auto-generated',
        event: 'new-report',
        flags: ['corrupt', 'mystery'],
      });
      expect(err?.fields).toEqual(['flags.1']);
    });

    it('refuses a channel-expiry alert about anything but security.txt or a team key fingerprint (#12)', () => {
      const alert = {
        template: 'channel-expiry',
        autoSubmitted: 'auto-generated',
        expiresAt: '2027-01-10T00:00:00.000Z',
      };
      expect(refusal(MAIL_KINDS, { ...alert, subject: 'security.txt' })).toBeNull();
      expect(
        refusal(MAIL_KINDS, { ...alert, subject: 'team-key:70391E1F60DD1FCF4E665A800F2409846A82D91C' }),
      ).toBeNull();
      expect(refusal(MAIL_KINDS, { ...alert, subject: 'team-key:not-a-fingerprint' })?.fields).toEqual([
        'subject',
      ]);
      expect(refusal(MAIL_KINDS, { ...alert, subject: 'security.txt', expiresAt: 'soon' })?.fields).toEqual([
        'expiresAt',
      ]);
    });

    it('reads a delivery-failed alert as markFailed writes it', () => {
      const read = readPayload({
        id: 9,
        payload: {
          template: 'delivery-failed',
          failedOutboxId: 4,
          autoSubmitted: 'auto-generated',
          flags: [],
        },
      });
      expect(read.payload).toEqual({
        template: 'delivery-failed',
        failedOutboxId: 4,
        autoSubmitted: 'auto-generated',
        flags: [],
      });
    });
  });

  describe('the writer side', () => {
    it('types an outbox row written in src/7-cases with the payload the mailer reads', () => {
      const row: NewOutboxRow = {
        caseId: 'SEC-2026-0001',
        kind: 'reporter-status',
        dedupeKey: 'status:1:triaged',
        recipients: ['reporter1@psirt.test'],
        inReplyTo: null,
        references: [],
        subject: 'Re: [SEC-2026-0001] report',
        // @ts-expect-error a status mail without its statusEvent does not compile
        payload: {
          template: 'reporter-status',
          messageRowId: 1,
          autoSubmitted: 'auto-generated',
          flags: [],
          snapshot: null,
        },
      };
      expect(refusal(MAIL_KINDS, row.payload)?.fields).toEqual(['statusEvent']);
    });
  });
});
