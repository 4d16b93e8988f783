import { PsirtError } from '../core/errors.js';
import type { ProgramInput } from './types.js';

/**
 * TEMPORARY stand-in (wt-docs) for the public-channel helper's module, so renderProgram compiles;
 * the lead replaces this file with the real one at merge. Same two signatures.
 */

/** The unsigned RFC 9116 security.txt. Throws when public_channel.expires is unset. */
export function renderSecurityTxt(input: ProgramInput): string {
  const pc = input.config.public_channel;
  if (pc.expires === undefined) {
    throw new PsirtError(
      'program_no_expires',
      'public_channel.expires is not set: RFC 9116 requires Expires',
    );
  }
  const contact =
    pc.contact.length > 0 ? pc.contact : [`mailto:${input.config.organisation.security_address}`];
  return [
    ...contact.map((c) => `Contact: ${c}`),
    `Expires: ${new Date(pc.expires).toISOString()}`,
    `Encryption: openpgp4fpr:${input.teamKey.fingerprint}`,
    '',
  ].join('\n');
}

/** SECURITY.md for repositories. */
export function renderSecurityMd(input: ProgramInput): string {
  return `# Security policy\n\nReport vulnerabilities to ${input.config.organisation.security_address}.\n`;
}
