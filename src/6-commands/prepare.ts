import { authenticateStaff, type StaffAuth } from '../5-authenticate/staff-auth.js';
import type { DkimVerdict } from '../5-authenticate/dkim.js';
import { parseCommands, type ParsedCommands } from './grammar.js';
import { subjectTags } from '../4-classify/thread.js';
import type { Config, StaffMember } from '../config/schema.js';
import type { DecodedMessage } from '../2-decode/types.js';
import { ownText } from './reply-text.js';

/** A staff mail after authentication and parsing, ready for the store's transaction. */
export interface StaffMailInput {
  member: StaffMember;
  auth: StaffAuth;
  /**
   * The commands, read only from a subject the authentication covers: the protected subject for
   * a PGP signature (it never covers the outer header), the outer `Subject:` for DKIM (its `h=`
   * must list Subject) and for a trusted Authentication-Results.
   */
  parsed: ParsedCommands;
  /**
   * Whether the covered subject carries a case tag. Commands apply only to the case it names:
   * In-Reply-To and References are not signed, so they may not choose the case (#10 review).
   */
  namesCase: boolean;
  /** The member's own text (quoted thread and signature removed). */
  ownText: string;
  /**
   * Why an authenticated mail is refused as altered after signing (its outer Subject carries
   * other commands than the protected one, or its Message-ID differs from the protected one);
   * null when it was not. Names what differs, never the subject's words.
   */
  tampered: string | null;
}

/** Commands of two subjects are the same when they parse to the same list. */
const sameCommands = (a: ParsedCommands, b: ParsedCommands): boolean =>
  JSON.stringify([a.commands, a.rejected.map((r) => r.text)]) ===
  JSON.stringify([b.commands, b.rejected.map((r) => r.text)]);

/**
 * Everything about a staff mail that needs no database: who sent it (authentication), what it
 * commands (the authenticated subject), whether its clear headers were changed after signing
 * (issue #10), and the member's own words (the body without the quoted thread).
 */
export function prepareStaffMail(
  decoded: DecodedMessage,
  member: StaffMember,
  dkim: DkimVerdict | null,
  opts: { config: Config; now: Date; caseIdPattern: string },
): StaffMailInput {
  const auth = authenticateStaff(
    decoded,
    member,
    { dkim },
    { commands: opts.config.commands, now: opts.now },
  );
  const covered = auth.ok && auth.method !== 'pgp' ? decoded.outerSubject : decoded.subject;
  const parsed = parseCommands(covered, opts.caseIdPattern);
  const namesCase = subjectTags(covered, opts.caseIdPattern).length > 0;
  return {
    member,
    auth,
    parsed,
    namesCase,
    ownText: ownText(decoded.text),
    tampered: tampering(decoded, opts),
  };
}

/**
 * RFC 9788 §4: where protected headers exist they are the sender's; an outer Subject with other
 * commands, or another Message-ID, was written by someone on the path. An outer Subject without
 * commands (a client that obscures it, `...`) is not a difference.
 */
function tampering(decoded: DecodedMessage, opts: { caseIdPattern: string }): string | null {
  const inner = decoded.protectedHeaders;
  if (inner === null) return null;
  const outer = parseCommands(decoded.outerSubject, opts.caseIdPattern);
  const hasCommands = outer.commands.length + outer.rejected.length > 0;
  if (hasCommands && !sameCommands(outer, parseCommands(inner.subject, opts.caseIdPattern)))
    return 'the commands in the outer Subject differ from those in the signed (protected) Subject: the subject was changed after signing';
  if (inner.messageId !== null && decoded.messageId !== inner.messageId)
    return 'the Message-ID differs from the signed (protected) Message-ID: the mail was changed after signing';
  return null;
}
