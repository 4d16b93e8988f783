import { authenticateStaff, type StaffAuth } from '../authenticate/staff-auth.js';
import type { DkimVerdict } from '../authenticate/dkim.js';
import { parseCommands, type ParsedCommands } from '../classify/commands.js';
import type { Config, StaffMember } from '../config/schema.js';
import type { DecodedMessage } from '../decode/types.js';
import { ownText } from './reply-text.js';

/** A staff mail after authentication and parsing, ready for the store's transaction. */
export interface StaffMailInput {
  member: StaffMember;
  auth: StaffAuth;
  parsed: ParsedCommands;
  /** The member's own text (quoted thread and signature removed). */
  ownText: string;
}

/**
 * Everything about a staff mail that needs no database: who sent it (authentication), what it
 * commands (the subject), and the member's own words (the body without the quoted thread).
 */
export function prepareStaffMail(
  decoded: DecodedMessage,
  member: StaffMember,
  dkim: DkimVerdict | null,
  opts: { config: Config; now: Date; caseIdPattern: string },
): StaffMailInput {
  return {
    member,
    auth: authenticateStaff(decoded, member, { dkim }, { commands: opts.config.commands, now: opts.now }),
    parsed: parseCommands(decoded.subject, opts.caseIdPattern),
    ownText: ownText(decoded.text),
  };
}
