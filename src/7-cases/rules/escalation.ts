import type { Config } from '../../config/schema.js';
import { securityStaff } from '../addresses.js';
import { sanitizeSubject } from '../subject.js';
import type { EscalationNeed } from '../../8-outbox/kinds/escalation.js';
import type { OutboxPayload } from '../../8-outbox/kinds/index.js';

/** A stored escalation step. */
export interface EscalationRow {
  id: number;
  case_id: string;
  deadline: string;
  step: number;
  recipient: 'assignee' | 'oncall' | 'accountable';
  fire_at: string;
  state: string;
  reason: string;
}

/** Who gets a step: on-call, the accountable role, or the assignee (all security staff when none). */
export function escalationRecipients(config: Config, e: EscalationRow, assignee: string | null): string[] {
  return e.recipient === 'oncall'
    ? [config.escalation.oncall_address]
    : e.recipient === 'accountable'
      ? [config.escalation.accountable_address]
      : assignee !== null
        ? [assignee]
        : securityStaff(config);
}

/** The subject and payload of a step's mail: ids, stages and deadlines only, never report content. */
export function escalationMail(
  e: EscalationRow,
  deadline: { due_at: string },
  now: Date,
): { subject: string; payload: OutboxPayload } {
  const late = now.getTime() >= Date.parse(deadline.due_at);
  const what =
    e.deadline === 'outside-expertise'
      ? 'outside expertise needed'
      : `${e.deadline} deadline ${late ? 'missed' : 'due soon'}`;
  return {
    // Never the report's subject: escalations carry ids, stages and deadlines only.
    subject: sanitizeSubject(`[${e.case_id}] Escalation: ${what}`),
    payload: {
      template: e.deadline === 'outside-expertise' ? 'outside-expertise' : 'escalation',
      messageRowId: 0,
      autoSubmitted: 'auto-generated',
      flags: [],
      escalationId: e.id,
      deadline: e.deadline,
      dueAt: deadline.due_at,
      step: e.step,
      recipientRole: e.recipient,
      need: JSON.parse(e.reason) as EscalationNeed,
    },
  };
}
