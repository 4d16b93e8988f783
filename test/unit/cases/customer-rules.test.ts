import { describe, expect, it } from 'vitest';
import {
  EMPTY_ADVISORY,
  parseRange,
  type AdvisoryFields,
  type VersionRange,
} from '../../../src/advisory/model.js';
import { openedState } from '../../../src/7-cases/rules/case-row.js';
import { startChange } from '../../../src/7-cases/rules/change.js';
import {
  customerDedupeKey,
  notifyCustomers,
  type CustomerFacts,
} from '../../../src/7-cases/rules/customers.js';
import { decideStaffMail, type StaffFacts } from '../../../src/7-cases/rules/staff-mail.js';
import { parseCommands } from '../../../src/6-commands/grammar.js';
import type { StaffMailInput } from '../../../src/6-commands/prepare.js';
import type { Customer } from '../../../src/config/schema.js';

import { AT, calendar, caseIdFormat, caseRow, config, mail } from './rules-support.js';

const carol = config.staff.find((s) => s.address.startsWith('carol@'))!;
const staffMail = mail({
  sender: carol.address,
  actor: `unverified:${carol.address}`,
  messageId: 'notify@staff.test',
  subject: 'Re: [SEC-2026-0001] XSS',
});
const who = { actor: `staff:${carol.address}`, auth: 'pgp:CAROL' };
const ID = 'SEC-2026-0001';
const [ONE, TWO, THREE] = config.customers as [Customer, Customer, Customer];

const range = (t: string): VersionRange => parseRange(t) as VersionRange;
const advisory = (...products: string[]): AdvisoryFields => ({
  ...EMPTY_ADVISORY,
  title: 'XSS in the router login',
  affected: products.map((product) => ({ product, range: range('<2.4.1') })),
});

function plan(o: { revisions: number; revised: boolean; products: string[]; notify?: boolean }) {
  return {
    notify: o.notify ?? true,
    revision: o.revised ? { number: o.revisions, summary: 'x' } : null,
    final: {
      ...openedState(ID, 'reporter1@psirt.test'),
      revisions: o.revisions,
      advisory: advisory(...o.products),
    },
  };
}

const none: CustomerFacts = { told: [], latestRevisionProducts: [] };

function run(
  p: ReturnType<typeof plan>,
  f: CustomerFacts = none,
  customers: readonly Customer[] = config.customers,
) {
  const change = startChange(staffMail);
  const result = notifyCustomers(change, staffMail, ID, p, f, customers, who, carol.address);
  return { change, result };
}

describe('customer notification (/notify, issue #14)', () => {
  it('the test profile has two customers of acme-router (one with a key) and one of acme-cloud only', () => {
    expect([ONE.products, TWO.products, THREE.products]).toEqual([
      ['acme-router'],
      ['acme-router', 'acme-cloud'],
      ['acme-cloud'],
    ]);
    expect([ONE.key_file !== undefined, TWO.key_file !== undefined]).toEqual([true, false]);
  });

  it('queues one mail per customer running an affected product, one recipient each, encrypted where a key is set', () => {
    const { change, result } = run(plan({ revisions: 1, revised: false, products: [] }), {
      told: [],
      latestRevisionProducts: ['acme-router'],
    });
    expect(change.outbox.map((o) => [o.kind, o.recipients, o.dedupeKey])).toEqual([
      ['customer-advisory', [ONE.address], customerDedupeKey(ID, 1, ONE.name)],
      ['customer-advisory', [TWO.address], customerDedupeKey(ID, 1, TWO.name)],
    ]);
    expect(change.outbox.map((o) => o.payload)).toEqual([
      expect.objectContaining({
        template: 'customer-advisory',
        customer: ONE.name,
        revision: 1,
        update: false,
        encrypted: true,
      }),
      expect.objectContaining({
        template: 'customer-advisory',
        customer: TWO.name,
        revision: 1,
        update: false,
        encrypted: false,
      }),
    ]);
    expect(change.outbox.every((o) => o.inReplyTo === null && o.references.length === 0)).toBe(true);
    expect(change.customerNotices).toEqual([
      {
        caseId: ID,
        customer: ONE.name,
        address: ONE.address,
        revision: 1,
        encrypted: true,
        by: carol.address,
        dedupeKey: customerDedupeKey(ID, 1, ONE.name),
      },
      {
        caseId: ID,
        customer: TWO.name,
        address: TWO.address,
        revision: 1,
        encrypted: false,
        by: carol.address,
        dedupeKey: customerDedupeKey(ID, 1, TWO.name),
      },
    ]);
    expect(change.events).toEqual([
      expect.objectContaining({
        type: 'advisory.customers-notified',
        actor: who.actor,
        data: expect.objectContaining({
          revision: 1,
          notified: 2,
          updates: 0,
          alreadyTold: 0,
          customers: [ONE.name, TWO.name],
        }),
      }),
    ]);
    // Names only in the event: addresses are in customer_notifications.
    expect(JSON.stringify(change.events)).not.toContain(ONE.address);
    expect(JSON.stringify(change.events)).not.toContain(TWO.address);
    expect(result?.detail).toBe('revision 1 goes to 2 customers, one mail each');
  });

  it('uses the products of a revision made in the same mail (/revise … /notify)', () => {
    // The last frozen revision named acme-router; this mail's revision names only acme-cloud.
    const { change } = run(plan({ revisions: 2, revised: true, products: ['acme-cloud'] }), {
      told: [],
      latestRevisionProducts: ['acme-router'],
    });
    expect(change.outbox.map((o) => o.recipients[0])).toEqual([TWO.address, THREE.address]);
  });

  it('sends nothing twice: customers told of this revision are counted, not mailed', () => {
    const told = [
      { customer: ONE.name, revision: 1 },
      { customer: TWO.name, revision: 1 },
    ];
    const { change, result } = run(plan({ revisions: 1, revised: false, products: [] }), {
      told,
      latestRevisionProducts: ['acme-router'],
    });
    expect(change.outbox).toEqual([]);
    expect(change.customerNotices).toEqual([]);
    expect(result).toMatchObject({ notified: 0, alreadyTold: 2 });
    expect(result?.detail).toBe('2 customers were already told of revision 1 (nothing new)');
  });

  it('a new revision goes out as an update to those told before; a customer new to the case gets it plainly', () => {
    const { change, result } = run(plan({ revisions: 2, revised: true, products: ['acme-router'] }), {
      told: [{ customer: ONE.name, revision: 1 }],
      latestRevisionProducts: ['acme-router'],
    });
    expect(
      change.outbox.map((o) => [o.recipients[0], o.dedupeKey, (o.payload as { update: boolean }).update]),
    ).toEqual([
      [ONE.address, customerDedupeKey(ID, 2, ONE.name), true],
      [TWO.address, customerDedupeKey(ID, 2, TWO.name), false],
    ]);
    // Never the case's title in the subject: it may name a newer, unpublished flaw (review of #14).
    expect(change.outbox[0]!.subject).toBe(`[${ID}] Updated security advisory (revision 2)`);
    expect(change.outbox[1]!.subject).toBe(`[${ID}] Security advisory (revision 2)`);
    for (const o of change.outbox) expect(o.subject).not.toContain('XSS');
    expect(result?.detail).toBe('revision 2 goes to 2 customers, one mail each (1 as an update)');
  });

  it('customers of other products get nothing', () => {
    const { change, result } = run(plan({ revisions: 1, revised: true, products: ['acme-cloud'] }), none, [
      ONE,
    ]);
    expect(change.outbox).toEqual([]);
    expect(result?.detail).toBe('no configured customer runs a product of revision 1: nobody was told');
  });

  it('no customers configured: a clear detail, no mail, the decision still evented', () => {
    const { change, result } = run(
      plan({ revisions: 1, revised: true, products: ['acme-router'] }),
      none,
      [],
    );
    expect(change.outbox).toEqual([]);
    expect(result?.detail).toBe('no customers are configured ([[customers]]): nobody was told');
    expect(change.events.map((e) => e.type)).toEqual(['advisory.customers-notified']);
  });

  it('without /notify: nothing', () => {
    const { change, result } = run(
      plan({ revisions: 1, revised: true, products: ['acme-router'], notify: false }),
    );
    expect(result).toBeNull();
    expect(change.outbox).toEqual([]);
    expect(change.events).toEqual([]);
  });
});

describe('/notify through the staff rules', () => {
  const ctx = { config, calendar, caseIdPattern: caseIdFormat.pattern };
  function decide(subject: string, customers: CustomerFacts, member = carol) {
    const input: StaffMailInput = {
      member,
      auth: { ok: true, method: 'pgp', label: 'pgp:CAROL', digest: 'd1' },
      parsed: parseCommands(subject, caseIdFormat.pattern),
      namesCase: true,
      ownText: '',
      tampered: null,
    };
    const facts: StaffFacts = {
      rejectionsLastHour: 0,
      signatureUsedBy: null,
      case: {
        row: caseRow({ stage: 'disclosure', published_at: AT, advisory_url: 'https://psirt.test/a/1' }),
        flags: [],
        acknowledgment: 'mailed',
        existingCases: new Set(),
        reportRowId: 1,
        draftChannel: 'encrypted',
        advisory: advisory('acme-router'),
        revisionHistory: [{ number: 1, date: AT, summary: 'Initial public release' }],
        drafts: 1,
        customers,
        reporterThread: [],
        deadlines: [],
        pauses: [],
        duplicateLinks: [],
      },
    };
    const change = startChange(staffMail);
    decideStaffMail(change, staffMail, ID, input, facts, ctx);
    return change;
  }
  const confirmation = (c: ReturnType<typeof decide>) =>
    c.outbox.find((o) => o.kind === 'command-confirmation')!.payload as {
      outcomes: { text: string; applied: boolean; detail: string }[];
    };

  it('queues the customer mails and says in the confirmation how many were told', () => {
    const change = decide(`Re: [${ID}] /notify`, { told: [], latestRevisionProducts: ['acme-router'] });
    expect(change.outbox.filter((o) => o.kind === 'customer-advisory').map((o) => o.recipients)).toEqual([
      [ONE.address],
      [TWO.address],
    ]);
    expect(change.customerNotices).toHaveLength(2);
    expect(confirmation(change).outcomes).toEqual([
      { text: '/notify', applied: true, detail: 'revision 1 goes to 2 customers, one mail each' },
    ]);
  });

  it('/revise and /notify in one mail: revision 2 goes out as updates', () => {
    const change = decide(`Re: [${ID}] /revise "Fixed versions corrected" /notify`, {
      told: [
        { customer: ONE.name, revision: 1 },
        { customer: TWO.name, revision: 1 },
      ],
      latestRevisionProducts: ['acme-router'],
    });
    const mails = change.outbox.filter((o) => o.kind === 'customer-advisory');
    expect(mails.map((o) => [o.recipients[0], o.payload as { revision: number; update: boolean }])).toEqual([
      [ONE.address, expect.objectContaining({ revision: 2, update: true })],
      [TWO.address, expect.objectContaining({ revision: 2, update: true })],
    ]);
    expect(change.versions.map((v) => [v.kind, v.number])).toEqual([['revision', 2]]);
  });

  it('only the accountable role may notify: alice (security) is refused, nothing queued', () => {
    const alice = config.staff.find((s) => s.address.startsWith('alice@'))!;
    const change = decide(`Re: [${ID}] /notify`, none, alice);
    expect(change.outbox.filter((o) => o.kind === 'customer-advisory')).toEqual([]);
    expect(change.customerNotices).toEqual([]);
    expect(confirmation(change).outcomes[0]).toMatchObject({ applied: false });
  });
});
