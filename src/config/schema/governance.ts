import { z } from 'zod';
import { RESOLUTIONS } from '../../core/vocabulary.js';
import { nonEmpty, positiveInt, ROLES } from './fields.js';

/** What reporters get and what staff may do: acknowledgments, notifications, commands, RACI, status mails. */

export const acknowledgment = z
  .strictObject({
    /**
     * At most this many automatic acknowledgments per hour to a sender we already know: one with a
     * pinned key, a valid signature by their key, or who replied to a mail we sent them.
     */
    max_per_sender_per_hour: z.number().int().min(0),
    /**
     * At most this many per hour to a first-contact sender (anyone else): a flood or a forged
     * sender gets one answer (issue #10). Held acknowledgments can be sent with `/ack`.
     */
    max_first_contact_per_hour: z.number().int().min(0),
  })
  .superRefine((v, ctx) => {
    if (v.max_first_contact_per_hour > v.max_per_sender_per_hour) {
      ctx.addIssue({
        code: 'custom',
        path: ['max_first_contact_per_hour'],
        message: `must not exceed acknowledgment.max_per_sender_per_hour (${v.max_per_sender_per_hour}): a stranger never gets more than a known correspondent`,
      });
    }
  });

export const notifications = z.strictObject({
  /**
   * Send staff the report in clear when they have no key_file. Off by default: without a key the
   * notification only says that a case arrived, never what it says.
   */
  allow_cleartext: z.boolean(),
});

export const commands = z.strictObject({
  /** Accept a valid OpenPGP signature by the staff member's configured fingerprint (needs key_file). */
  pgp: z.boolean(),
  /** Verify DKIM ourselves (DNS lookups): a pass aligned with From: that signs Subject and Message-ID. */
  dkim_verify: z.boolean(),
  /**
   * Accept dkim=pass (or dmarc=pass) from the top-most Authentication-Results header, only when it
   * was written by one of these authserv-ids (your own border MTA, which strips forged ones).
   */
  trusted_authserv_ids: z.array(nonEmpty.transform((s) => s.toLowerCase())),
  /** A signature older than this is a replay and changes nothing. */
  max_signature_age_hours: positiveInt,
  /** At most this many "not authenticated" notices per staff member per hour (forgery floods). */
  max_rejections_per_hour: z.number().int().min(0),
});

/** Commands that need a RACI role; `/help` and `/note` are open to every staff member. */
export const GOVERNED_COMMANDS = [
  'triage',
  'assign',
  'severity',
  'cvss',
  'verified',
  'fix-by',
  'fixed',
  'disclose',
  'cve',
  'reply',
  'ack',
  'tag',
  'external',
  'duplicate',
  'link',
  'close',
  'reopen',
  'hold',
  'unhold',
  'pause',
  'publish',
  'credit',
  'title',
  'summary',
  'cwe',
  'affects',
  'fixed-in',
  'ref',
  'draft',
  'no-draft',
  'credit-override',
  'revise',
  'notify',
] as const;

const raciActivity = z.strictObject({
  activity: nonEmpty,
  /** Staff commands that perform this activity. */
  commands: z.array(z.enum(GOVERNED_COMMANDS)),
  /** R: does the work; may run the commands. */
  responsible: z.array(z.enum(ROLES)).min(1, 'at least one responsible role'),
  /** A: answers for it; may run the commands too. Exactly one role (RACI). */
  accountable: z.enum(ROLES),
  /** C: asked before; I: told after. Documentation for the published procedure. */
  consulted: z.array(z.enum(ROLES)).default([]),
  informed: z.array(z.enum(ROLES)).default([]),
  /**
   * Who may run the commands: "responsible" (R roles and the A role) or "accountable" (only the
   * A role: decisions such as notifying customers).
   */
  decided_by: z.enum(['responsible', 'accountable']).default('responsible'),
});

export const raci = z.array(raciActivity).superRefine((acts, ctx) => {
  const owner = new Map<string, number>();
  acts.forEach((a, i) => {
    for (const c of a.commands) {
      const first = owner.get(c);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'commands'],
          message: `/${c} is already governed by raci[${first}] (${acts[first]?.activity ?? ''})`,
        });
      }
      owner.set(c, i);
    }
  });
  const missing = GOVERNED_COMMANDS.filter((c) => !owner.has(c));
  if (missing.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `no activity governs ${missing.map((c) => `/${c}`).join(', ')}: every command needs a role`,
    });
  }
});

/** Status mails a reporter can get; each is `config/templates/status-<event>.txt`. */
export const STATUS_EVENTS = [
  'triaged',
  'verified',
  'fix-scheduled',
  'fixed',
  'disclosure-scheduled',
  'published',
  ...RESOLUTIONS.map((r) => `closed-${r}` as const),
] as const;

export const statusMails = z.strictObject({
  /** Which case events mail the reporter (a `/reply` always does). */
  events: z.array(z.enum(STATUS_EVENTS)),
});
