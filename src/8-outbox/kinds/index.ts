import { acknowledgment, type AcknowledgmentPayload } from './acknowledgment.js';
import { advisoryDraft, type AdvisoryDraftPayload } from './advisory-draft.js';
import { assignment, type AssignmentPayload } from './assignment.js';
import { channelExpiry, type ChannelExpiryPayload } from './channel-expiry.js';
import { commandConfirmation, type CommandConfirmationPayload } from './command-confirmation.js';
import { commandRejected, type CommandRejectedPayload } from './command-rejected.js';
import { customerAdvisory, type CustomerAdvisoryPayload } from './customer-advisory.js';
import { deliveryFailed, type DeliveryFailedPayload } from './delivery-failed.js';
import { embargoReminder, type EmbargoReminderPayload } from './embargo-reminder.js';
import { escalation, type EscalationPayload } from './escalation.js';
import { importSummary, type ImportSummaryPayload } from './import-summary.js';
import type { MailKind, PayloadBase, PayloadProblem, ReadMail } from './kind.js';
import { mailProbe, type MailProbePayload } from './mail-probe.js';
import { outsideExpertise, type OutsideExpertisePayload } from './outside-expertise.js';
import { reporterReply, type ReporterReplyPayload } from './reporter-reply.js';
import { reporterStatus, type ReporterStatusPayload } from './reporter-status.js';
import { serviceAlert, type ServiceAlertPayload } from './service-alert.js';
import { staffNotification, type StaffNotificationPayload } from './staff-notification.js';

/**
 * The outbox payload: what the writer in src/7-cases stores with each outbox row and the mailer
 * reads back, one member per mail kind, discriminated on `template`. Never report content.
 * Adding a mail kind: one module in this folder (schema, type, rendering), one member here and
 * its entry in MAIL_KINDS — the compiler refuses either without the other.
 */
export type OutboxPayload =
  | AcknowledgmentPayload
  | StaffNotificationPayload
  | DeliveryFailedPayload
  | CommandConfirmationPayload
  | CommandRejectedPayload
  | AssignmentPayload
  | ReporterStatusPayload
  | ReporterReplyPayload
  | EscalationPayload
  | OutsideExpertisePayload
  | ChannelExpiryPayload
  | AdvisoryDraftPayload
  | EmbargoReminderPayload
  | CustomerAdvisoryPayload
  | ImportSummaryPayload
  | ServiceAlertPayload
  | MailProbePayload;

export type OutboxTemplate = OutboxPayload['template'];

/** One kind module per template of `P`, and no module for a template `P` does not have. */
export type Registry<P extends PayloadBase> = {
  readonly [T in P['template']]: MailKind<Extract<P, { template: T }>>;
};

export const MAIL_KINDS = {
  acknowledgment,
  'staff-notification': staffNotification,
  'delivery-failed': deliveryFailed,
  'command-confirmation': commandConfirmation,
  'command-rejected': commandRejected,
  assignment,
  'reporter-status': reporterStatus,
  'reporter-reply': reporterReply,
  escalation,
  'outside-expertise': outsideExpertise,
  'channel-expiry': channelExpiry,
  'advisory-draft': advisoryDraft,
  'embargo-reminder': embargoReminder,
  'customer-advisory': customerAdvisory,
  'import-summary': importSummary,
  'service-alert': serviceAlert,
  'mail-probe': mailProbe,
} as const satisfies Registry<OutboxPayload>;

/** A stored payload that does not parse: which row, which template, which fields. */
export class PayloadError extends Error {
  readonly template: string;
  readonly fields: string[];
  constructor(rowId: number, template: string, problem: PayloadProblem) {
    super(`outbox row ${rowId} (${template}): payload does not parse: ${problem.detail}`);
    this.name = 'PayloadError';
    this.template = template;
    this.fields = problem.fields;
  }
}

/**
 * Reads a stored payload with the schema of its template (`registry` is MAIL_KINDS but for
 * tests). A row that does not parse — from an older version, a missing field, an unknown
 * template — is a PayloadError, never a mail rendered with defaults.
 */
export function readPayloadWith<P extends PayloadBase>(
  registry: Registry<P>,
  row: { id: number; payload: unknown },
): ReadMail {
  const kinds = new Map<string, MailKind<PayloadBase>>(Object.entries<MailKind<PayloadBase>>(registry));
  const json = row.payload;
  const template =
    typeof json === 'object' && json !== null && 'template' in json && typeof json.template === 'string'
      ? json.template
      : null;
  const kind = template === null ? undefined : kinds.get(template);
  if (template === null || kind === undefined) {
    throw new PayloadError(row.id, template === null ? '(none)' : '(unknown)', {
      fields: ['template'],
      detail: 'template: not a known mail kind',
    });
  }
  const read = kind.read(json);
  if (!read.ok) throw new PayloadError(row.id, template, read.problem);
  return read.mail;
}

/** Reads a stored payload of one of the service's mail kinds. */
export function readPayload(row: { id: number; payload: unknown }): ReadMail {
  return readPayloadWith(MAIL_KINDS, row);
}
