import { staffByAddress } from '../../core/staff.js';
import type { StaffMember } from '../../config/schema.js';
import { formatDate } from '../render.js';
import { staffProtection, type BuiltMail, type MailCase, type MailInput } from './kind.js';
import type { CaseSnapshot } from './snapshot.js';

/**
 * What the mails to a staff member about their command mail share (confirmation, rejection,
 * assignment): who they are, the case after the change, and how the mail is sealed.
 */
export function staffCommon(
  input: MailInput<unknown, MailCase | null>,
  snap: CaseSnapshot | null,
): {
  member: StaffMember | undefined;
  data: {
    caseId: string;
    staffName: string;
    staffAddress: string;
    snapshot: CaseSnapshot | null;
    fixDue: string;
    tags: string;
  };
} {
  const { config } = input.ctx;
  const recipient = input.row.recipients[0] ?? '';
  const member = staffByAddress(config.staff, recipient);
  return {
    member,
    data: {
      caseId: input.case?.id ?? '',
      staffName: member?.name ?? recipient,
      staffAddress: recipient,
      snapshot: snap,
      fixDue: snap?.fixDue ? formatDate(snap.fixDue, config.calendar.time_zone) : '',
      tags: snap?.tags.join(', ') ?? '',
    },
  };
}

/** A staff mail: replies go to security@, encrypted to the member's key when configured. */
export function staffBuilt(input: MailInput<unknown, MailCase | null>, text: string): BuiltMail {
  const { config } = input.ctx;
  return {
    mail: { ...input.base, replyTo: config.organisation.security_address, text },
    protection: staffProtection(input.ctx, input.row.recipients),
    envelopeFrom: config.organisation.security_address,
  };
}
