import type { Config, StaffMember } from './schema.js';

/**
 * Who can authenticate a command mail with this configuration (README "Staff commands"): with
 * domain authentication (DKIM verified here, or a trusted Authentication-Results header) every
 * member can; with OpenPGP only, a member needs `fingerprint` and `key_file`. One rule for
 * `psirt doctor` and the written procedure, so the document states what the service accepts.
 */
export function commandCapableStaff(config: Config): { can: StaffMember[]; cannot: StaffMember[] } {
  const { pgp, dkim_verify, trusted_authserv_ids } = config.commands;
  const domainAuth = dkim_verify || trusted_authserv_ids.length > 0;
  const able = (m: StaffMember): boolean =>
    domainAuth || (pgp && m.fingerprint !== undefined && m.key_file !== undefined);
  return { can: config.staff.filter(able), cannot: config.staff.filter((m) => !able(m)) };
}

/** The ways a command mail is authenticated, in words, from `[commands]`. */
export function commandAuthMethods(config: Config): string[] {
  const c = config.commands;
  const out: string[] = [];
  if (c.pgp) out.push("a valid OpenPGP signature by the member's configured key (fingerprint and key_file)");
  if (c.dkim_verify)
    out.push(
      'a DKIM signature of the sender domain, verified by the service, aligned with From: and covering Subject',
    );
  if (c.trusted_authserv_ids.length > 0)
    out.push(
      `dkim=pass or dmarc=pass in the top Authentication-Results header written by ${c.trusted_authserv_ids.join(', ')}`,
    );
  return out;
}
