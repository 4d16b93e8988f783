import { createHash } from 'node:crypto';
import type { Config, StaffMember } from '../config/schema.js';
import type { DecodedMessage } from '../2-decode/types.js';
import { trustedDkimFromAuthResults } from './auth-results.js';
import type { DkimVerdict } from './dkim.js';

export type AuthMethod = 'pgp' | 'dkim' | 'authentication-results';

export type StaffAuth =
  | {
      ok: true;
      method: AuthMethod;
      /** For the audit trail: `pgp:<fingerprint>`, `dkim:<domain>`, `authentication-results:<id>:<domain>`. */
      label: string;
      /** The replay key: one signature authenticates one mail. */
      digest: string;
    }
  | { ok: false; reason: string };

/** A signature dated this far in the future is refused too (clock skew allowance). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

function freshness(signedAt: Date | null, now: Date, maxAgeHours: number): string | null {
  if (signedAt === null || Number.isNaN(signedAt.getTime())) return 'the signature carries no time';
  const age = now.getTime() - signedAt.getTime();
  if (age > maxAgeHours * 3_600_000) {
    return `the signature is from ${signedAt.toISOString()}, older than ${maxAgeHours} hours: a replay`;
  }
  if (age < -MAX_CLOCK_SKEW_MS) return `the signature is dated in the future (${signedAt.toISOString()})`;
  return null;
}

function pgp(msg: DecodedMessage, member: StaffMember, now: Date, maxAgeHours: number): StaffAuth {
  const sig = msg.signature;
  const want = member.fingerprint;
  switch (sig.state) {
    case 'none':
      return { ok: false, reason: 'PGP: the mail is not signed' };
    case 'unknown-key':
      return { ok: false, reason: `PGP: signed by an unknown key ${sig.keyId}` };
    case 'invalid':
      return { ok: false, reason: `PGP: the signature does not verify (${sig.reason})` };
    case 'valid': {
      if (want === undefined || member.key_file === undefined) {
        return { ok: false, reason: `PGP: no fingerprint and key_file configured for ${member.address}` };
      }
      if (sig.fingerprint !== want) {
        return { ok: false, reason: `PGP: signed by ${sig.fingerprint}, not by the configured key ${want}` };
      }
      const stale = freshness(new Date(sig.createdAt), now, maxAgeHours);
      if (stale !== null) return { ok: false, reason: `PGP: ${stale}` };
      // A PGP signature covers the body, never the outer header section: commands (and the case
      // tag) are trusted only from protected headers inside the signed data (decision 0005).
      if (msg.protectedHeaders?.signed !== true) {
        return {
          ok: false,
          reason:
            'PGP: the signature does not cover the Subject (no protected headers); send the commands from a client that signs protected headers (RFC 9788), or encrypt the mail to the team key',
        };
      }
      return { ok: true, method: 'pgp', label: `pgp:${sig.fingerprint}`, digest: `pgp:${sig.digest}` };
    }
  }
}

function dateHeader(msg: DecodedMessage): Date | null {
  return msg.date === null ? null : new Date(msg.date);
}

/**
 * Decides whether a mail from a configured staff address is really theirs (DESIGN.md invariant 5:
 * `From:` is never proof). Pure: the DKIM verdict was computed by the caller. Methods are tried in
 * order — PGP signature by the member's configured fingerprint, DKIM verified here, DKIM read
 * from a trusted Authentication-Results header — and only the enabled ones. A stale signature
 * fails (`commands.max_signature_age_hours`); a reused one is the store's check (`digest`).
 */
export function authenticateStaff(
  msg: DecodedMessage,
  member: StaffMember,
  evidence: { dkim: DkimVerdict | null },
  opts: { commands: Config['commands']; now: Date },
): StaffAuth {
  const { commands, now } = opts;
  const from = msg.from?.address ?? '';
  if (from !== member.address) {
    return { ok: false, reason: `From: ${from} is not ${member.address}` };
  }
  const reasons: string[] = [];
  if (commands.pgp) {
    const r = pgp(msg, member, now, commands.max_signature_age_hours);
    if (r.ok) return r;
    reasons.push(r.reason);
  }
  if (commands.dkim_verify) {
    const d = evidence.dkim ?? { state: 'none' };
    if (d.state === 'pass') {
      const stale = freshness(
        d.signedAt === null ? dateHeader(msg) : new Date(d.signedAt),
        now,
        commands.max_signature_age_hours,
      );
      if (stale === null) {
        return { ok: true, method: 'dkim', label: `dkim:${d.domain}`, digest: `dkim:${d.signatureDigest}` };
      }
      reasons.push(`DKIM: ${stale}`);
    } else {
      reasons.push(d.state === 'none' ? 'DKIM: the mail has no DKIM signature' : `DKIM: ${d.reason}`);
    }
  }
  if (commands.trusted_authserv_ids.length > 0) {
    const ar = trustedDkimFromAuthResults(
      msg.headers.authenticationResults,
      commands.trusted_authserv_ids,
      from,
    );
    if (ar.state === 'pass') {
      const stale = freshness(dateHeader(msg), now, commands.max_signature_age_hours);
      if (stale === null) {
        // The MTA's verdict carries no signature bytes: the Message-ID is the replay key.
        const digest = createHash('sha256')
          .update(msg.messageId ?? `no-id:${msg.date ?? ''}`)
          .digest('hex');
        return {
          ok: true,
          method: 'authentication-results',
          label: `authentication-results:${ar.authservId}:${ar.domain}`,
          digest: `ar:${digest}`,
        };
      }
      reasons.push(`Authentication-Results: the mail's Date: ${stale}`);
    } else {
      reasons.push(`Authentication-Results: ${ar.reason}`);
    }
  }
  if (reasons.length === 0) return { ok: false, reason: 'no authentication method is enabled (commands.*)' };
  return { ok: false, reason: reasons.join('; ') };
}
