import type { Config } from '../config/schema.js';

/** Addresses the store derives from the configuration. Pure. */

/** Addresses of the staff with the security role (alerts, and reminders for unassigned cases). */
export function securityStaff(config: Pick<Config, 'staff'>): string[] {
  return config.staff.filter((m) => m.roles.includes('security')).map((m) => m.address);
}

/** The domain of our Message-IDs: that of the security address. */
export function mailDomain(config: Pick<Config, 'organisation'>): string {
  return config.organisation.security_address.split('@')[1] ?? 'localhost';
}
