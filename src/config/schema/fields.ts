import { z } from 'zod';

/** Field types shared by the sections of the configuration schema. */

export const port = z.number().int().min(1).max(65535);
export const nonEmpty = z.string().trim().min(1, 'must not be empty');
export const email = z.email({ message: 'must be an e-mail address' });
/**
 * A configured mail address, lower-cased once here: every comparison with an incoming address
 * (itself lower-cased where it is read) and every look-up of a staff member can then use `===`.
 */
export const address = email.transform((s) => s.toLowerCase());
export const fingerprint = z
  .string()
  .transform((s) => s.replace(/\s+/g, '').toUpperCase())
  .pipe(
    z.string().regex(/^([0-9A-F]{40}|[0-9A-F]{64})$/, 'must be a 40- or 64-hex-digit OpenPGP fingerprint'),
  );
export const positiveInt = z.number().int('must be a whole number').positive('must be a positive number');

export const UNITS = ['business_days', 'calendar_days', 'hours', 'minutes', 'seconds'] as const;

export const ROLES = ['security', 'developer', 'manager', 'legal', 'communications', 'support'] as const;
