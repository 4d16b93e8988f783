import type { CommandPlan } from '../../6-commands/plan.js';
import type { Customer } from '../../config/schema.js';
import { sanitizeSubject } from '../subject.js';
import { addEvent, type CaseChange, type MailFacts } from './change.js';
import type { Actor } from '../command-store.js';

/**
 * Customer notification (issue #14, §4.1.5 Method 4): `/notify` mails the published revision to
 * every configured customer running an affected product — one mail each, one recipient — and
 * records who was told of which revision. A customer already told of this revision gets nothing;
 * one told of an earlier revision gets it as an update. Pure.
 */

/** What the rule reads about the case: who was told of which revision, and the last revision. */
export interface CustomerFacts {
  /** `customer_notifications` of the case: customer name and revision. */
  told: readonly { customer: string; revision: number }[];
  /** The products (`products[].id`) of the latest frozen revision; [] when none is frozen. */
  latestRevisionProducts: readonly string[];
}

/** What `/notify` did, for the confirmation. */
export interface NotifyResult {
  revision: number;
  notified: number;
  updates: number;
  alreadyTold: number;
  detail: string;
}

/** The outbox key of one customer's mail of one revision: the same mail is never queued twice. */
export function customerDedupeKey(caseId: string, revision: number, customer: string): string {
  return `customer:${caseId}:${revision}:${customer}`;
}

/**
 * Queues the customer mails of a plan with `/notify` (nothing otherwise): the outbox rows, the
 * `customerNotices` to record, and the event `advisory.customers-notified` (counts and customer
 * names; addresses are in `customer_notifications`). Returns what the confirmation says, or
 * null when the plan has no `/notify`.
 */
export function notifyCustomers(
  change: CaseChange,
  mail: MailFacts,
  caseId: string,
  plan: Pick<CommandPlan, 'notify' | 'revision' | 'final'>,
  f: CustomerFacts,
  customers: readonly Customer[],
  who: Actor,
  by: string,
): NotifyResult | null {
  if (!plan.notify) return null;
  const revision = plan.final.revisions;
  // The products of the revision sent: made in this mail (/revise, /publish), or the last frozen.
  const products =
    plan.revision !== null
      ? plan.final.advisory.affected.map((a) => a.product)
      : [...f.latestRevisionProducts];
  const affected = new Set(products);
  const told = new Map<string, Set<number>>();
  for (const t of f.told) told.set(t.customer, (told.get(t.customer) ?? new Set()).add(t.revision));
  const running = customers.filter((c) => c.products.some((p) => affected.has(p)));
  let alreadyTold = 0;
  let updates = 0;
  const names: string[] = [];
  for (const c of running) {
    const before = told.get(c.name);
    if (before?.has(revision) === true) {
      alreadyTold += 1;
      continue;
    }
    const update = before !== undefined && [...before].some((r) => r < revision);
    if (update) updates += 1;
    const encrypted = c.key_file !== undefined;
    const dedupeKey = customerDedupeKey(caseId, revision, c.name);
    const what = `${update ? 'Updated security advisory' : 'Security advisory'} (revision ${revision})`;
    change.outbox.push({
      caseId,
      kind: 'customer-advisory',
      dedupeKey,
      // One customer per mail: never one mail with every customer in To or Cc.
      recipients: [c.address],
      inReplyTo: null,
      references: [],
      // Never the case's live title: after publication it may already name a new, unpublished
      // flaw (review of #14). The advisory itself is in the body, from the frozen revision.
      subject: sanitizeSubject(`[${caseId}] ${what}`),
      payload: {
        template: 'customer-advisory',
        messageRowId: mail.messageRowId,
        autoSubmitted: 'auto-generated',
        flags: [],
        customer: c.name,
        revision,
        update,
        encrypted,
      },
    });
    change.customerNotices.push({
      caseId,
      customer: c.name,
      address: c.address,
      revision,
      encrypted,
      by,
      dedupeKey,
    });
    names.push(c.name);
  }
  addEvent(
    change,
    mail,
    caseId,
    'advisory.customers-notified',
    { revision, notified: names.length, updates, alreadyTold, customers: names },
    who,
  );
  return {
    revision,
    notified: names.length,
    updates,
    alreadyTold,
    detail: notifyDetail(revision, customers.length, running.length, names.length, updates, alreadyTold),
  };
}

function notifyDetail(
  revision: number,
  configured: number,
  running: number,
  notified: number,
  updates: number,
  alreadyTold: number,
): string {
  if (configured === 0) return 'no customers are configured ([[customers]]): nobody was told';
  if (running === 0) return `no configured customer runs a product of revision ${revision}: nobody was told`;
  const parts: string[] = [];
  if (notified > 0) {
    const each = notified === 1 ? '1 customer' : `${notified} customers`;
    parts.push(
      `revision ${revision} goes to ${each}, one mail each` +
        (updates > 0 ? ` (${updates === notified ? 'all' : updates} as an update)` : ''),
    );
  }
  if (alreadyTold > 0) {
    parts.push(
      `${alreadyTold === 1 ? '1 customer was' : `${alreadyTold} customers were`} already told of revision ${revision} (nothing new)`,
    );
  }
  return parts.join('; ');
}
