import { z } from 'zod';
import { staffByAddress } from '../../core/staff.js';
import { expertsFor, RESOLVED_BY, type OutsideExpertiseNeed } from '../../policy/escalation.js';
import { formatDate } from '../render.js';
import {
  autoSubmittedSchema,
  defineKind,
  flagsSchema,
  messageRowIdSchema,
  staffProtection,
  type MailKind,
} from './kind.js';

const needSchema: z.ZodType<OutsideExpertiseNeed> = z.object({
  tags: z.array(z.string()),
  fixDays: z.number().nullable(),
});

function isNeed(n: EscalationNeed): n is OutsideExpertiseNeed {
  return 'tags' in n;
}

/** The payload of one escalation step (fireEscalation), for either template. */
function escalationSchema<T extends 'escalation' | 'outside-expertise'>(template: T) {
  return z.object({
    template: z.literal(template),
    /** Always 0: an escalation is about a case, not a stored message. */
    messageRowId: messageRowIdSchema,
    autoSubmitted: autoSubmittedSchema,
    flags: flagsSchema,
    escalationId: z.number().int(),
    /** The deadline kind (`triage`, `fix`, …) or `outside-expertise`. */
    deadline: z.string(),
    dueAt: z.string(),
    step: z.number().int(),
    recipientRole: z.enum(['assignee', 'oncall', 'accountable']),
    /** Why outside expertise is needed; `{}` for a deadline step. */
    need: z.union([needSchema, z.strictObject({})]),
  });
}

export const escalationPayloadSchema = escalationSchema('escalation');
export type EscalationPayload = z.infer<typeof escalationPayloadSchema>;
/** Why outside expertise is needed (`escalations.reason`), or `{}` for a deadline step. */
export type EscalationNeed = EscalationPayload['need'];

/** "2.5 business days" — or, under a day, the wall-clock time ("40 seconds", "3 hours"). */
function formatBusinessDays(days: number, ms: number): string {
  if (days >= 1) return `${days.toFixed(1)} business days`;
  const s = Math.round(ms / 1000);
  if (s < 2) return 'a moment';
  if (s < 120) return `${s} seconds`;
  if (s < 7200) return `${Math.round(s / 60)} minutes`;
  return `${Math.round(s / 3600)} hours`;
}

/**
 * An escalation: case id, stage, deadline, how late, owner, the command that resolves it — never
 * report content (invariant 6). Encrypted to a recipient who has a staff key.
 */
export function escalationKind<T extends 'escalation' | 'outside-expertise'>(
  template: T,
): MailKind<z.infer<ReturnType<typeof escalationSchema<T>>>> {
  return defineKind(escalationSchema(template), ({ ctx, row, payload: p, case: c, base }) => {
    const { config } = ctx;
    const tz = config.calendar.time_zone;
    const kind = p.deadline;
    const due = p.dueAt;
    const left = ctx.calendar.businessDaysBetween(ctx.clock.now(), new Date(due));
    const staffName = (address: string | null): string =>
      address === null
        ? 'nobody (the security staff are told)'
        : (staffByAddress(config.staff, address)?.name ?? address) + ` <${address}>`;
    const need: OutsideExpertiseNeed = isNeed(p.need) ? p.need : { tags: [], fixDays: null };
    const data = {
      caseId: c.id,
      stage: c.stage,
      severity: c.severity ?? 'not set',
      deadline: kind,
      due: formatDate(due, tz),
      late: left < 0,
      howLate: formatBusinessDays(Math.abs(left), Math.abs(Date.parse(due) - ctx.clock.now().getTime())),
      owner: staffName(c.assignee),
      step: p.step + 1,
      steps: config.escalation.ladder.length,
      recipientRole: p.recipientRole,
      resolvedBy: RESOLVED_BY[kind] ?? '',
      tags: need.tags.join(', '),
      fixDays: need.fixDays ?? '',
      maxFixDays: config.escalation.outside_expertise.max_fix_days,
      experts: expertsFor(need, config.escalation.outside_expertise.experts),
      resolvedByExternal: RESOLVED_BY['outside-expertise'] ?? '',
    };
    return Promise.resolve({
      mail: { ...base, text: ctx.templates.render(template, data) },
      protection: staffProtection(ctx, row.recipients),
      envelopeFrom: config.organisation.security_address,
    });
  });
}

export const escalation = escalationKind('escalation');
