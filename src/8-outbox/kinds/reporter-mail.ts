import { formatDate } from '../render.js';
import { reporterProtection, type BuiltMail, type MailInput } from './kind.js';
import type { CaseSnapshot } from './snapshot.js';

/** What the mails to the reporter after a staff command share (status mail, `/reply`). */
export function reporterData(m: MailInput<unknown>, snap: CaseSnapshot | null) {
  const { ctx, case: c } = m;
  const tz = ctx.config.calendar.time_zone;
  const key = ctx.pinnedKey(m.row.recipients[0] ?? '');
  return {
    key,
    data: {
      caseId: c.id,
      reporterName: c.reporter_name ?? '',
      organisation: ctx.config.organisation.name,
      securityAddress: ctx.config.organisation.security_address,
      encrypted: key !== null,
      severity: snap?.severity ?? '',
      cvssScore: snap?.cvssScore?.toFixed(1) ?? '',
      cvssVector: snap?.cvssVector ?? '',
      fixDue: snap?.fixDue ? formatDate(snap.fixDue, tz) : '',
      discloseOn: snap?.discloseOn ?? '',
      advisoryUrl: snap?.advisoryUrl ?? '',
      cve: snap?.cve ?? '',
      credit: snap?.credit ?? c.reporter_name ?? '',
      duplicateOf: snap?.duplicateOf ?? '',
      // A promise already past is not repeated: the template then says "as soon as we can".
      verifyBy:
        c.deadlines.verify !== undefined && Date.parse(c.deadlines.verify) > ctx.clock.now().getTime()
          ? formatDate(c.deadlines.verify, tz)
          : '',
    },
  };
}

/** A reporter mail: encrypted to their pinned key when we have one. */
export function reporterBuilt(
  m: MailInput<unknown>,
  key: { armored: string } | null,
  text: string,
): BuiltMail {
  return {
    mail: { ...m.base, text },
    protection: reporterProtection(key),
    // Bounces come back to security@ and are linked to this row (a status mail must not vanish).
    envelopeFrom: m.ctx.config.organisation.security_address,
  };
}
