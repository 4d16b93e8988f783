import { z } from 'zod';
import { address, email, fingerprint, nonEmpty, positiveInt, ROLES, UNITS } from './fields.js';

/** Who we are and who works the cases: the organisation, the staff, and the escalation ladder. */

export const organisation = z.strictObject({
  name: nonEmpty,
  /** Public address reporters write to; shown in templates and security.txt. */
  /** Kept as written (not lower-cased): it is shown and sent, never compared (#11 review). */
  security_address: email,
});

export const staffMember = z.strictObject({
  name: nonEmpty,
  address,
  roles: z.array(z.enum(ROLES)).min(1, 'every staff member needs at least one role'),
  expertise: z.array(nonEmpty).default([]),
  fingerprint: fingerprint.optional(),
  /** Armored public key of `fingerprint`: notifications to this person are encrypted to it. */
  key_file: nonEmpty.optional(),
});

const DEADLINE_KINDS = ['acknowledge', 'triage', 'verify', 'fix', 'disclose'] as const;
const offset = z.strictObject({
  amount: z.number().int('must be a whole number').min(0, 'must not be negative'),
  unit: z.enum(UNITS),
});

const ladderStep = z
  .strictObject({
    /** Who gets this step: the case's assignee (the security staff when nobody is), on-call, or the accountable role. */
    to: z.enum(['assignee', 'oncall', 'accountable']),
    /** Fires this long before the deadline … */
    before: offset.optional(),
    /** … or this long after it (0 = when it is missed). */
    after: offset.optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.before === undefined) === (v.after === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of before or after' });
    }
  });

const expert = z.strictObject({
  name: nonEmpty,
  /** How to reach them (address, phone, contract reference): shown in the escalation. */
  contact: nonEmpty,
  /** The agreement they work under (§4.2.2.3): "annual retainer, contract 2026-17". */
  contract: nonEmpty.optional(),
  expertise: z.array(nonEmpty).min(1, 'name at least one field'),
});

export const escalation = z.strictObject({
  oncall_address: address,
  accountable_address: address,
  /** How often due escalation steps are looked for. */
  sweep_interval_seconds: positiveInt,
  /** Which deadlines escalate. */
  deadlines: z.array(z.enum(DEADLINE_KINDS)),
  /** The ladder each of those deadlines climbs; each step is sent once. */
  ladder: z.array(ladderStep).min(1, 'at least one step'),
  /** ISO/IEC 18974 §4.2.2.3: when to call in outside help, and whom. */
  outside_expertise: z.strictObject({
    /** Cases tagged with one of these (/tag) need outside expertise. */
    tags: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'one lower-case word')),
    /** … and so do cases whose fix date lies more than this many days after the report. */
    max_fix_days: positiveInt,
    experts: z.array(expert),
  }),
});
