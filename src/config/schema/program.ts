import { z } from 'zod';
import { address, nonEmpty, positiveInt, ROLES, UNITS } from './fields.js';

/**
 * The published program (ISO/IEC 18974 §4.2.1.1, §4.2.2.2): what `psirt program` puts into
 * security.txt and SECURITY.md, and the staffing and funding the program documents show. The
 * procedure itself is rendered from the sections the service enforces (deadlines, calendar,
 * escalation, raci, retention), never restated here.
 */

const isoDate = z.iso.date({ message: 'must be a date YYYY-MM-DD' });
const uri = (schemes: readonly string[], what: string) =>
  z
    .string()
    .trim()
    .refine((s) => URL.canParse(s) && schemes.includes(new URL(s).protocol), `must be ${what}`);
const https = uri(['https:'], 'an https:// URL');

export const publicChannel = z.strictObject({
  /**
   * RFC 9116 Contact lines, most preferred first (mailto:, https: or tel:). Empty: one line,
   * mailto:<organisation.security_address>.
   */
  contact: z.array(uri(['mailto:', 'https:', 'tel:'], 'a mailto:, https: or tel: URI')),
  /**
   * RFC 9116 Expires (required there): when the published security.txt goes stale, an ISO date
   * and time such as "2027-11-30T23:00:00Z". Keep it less than a year ahead; the service warns
   * the accountable role `watch_before` ahead of it. Unset: `psirt program` refuses to render.
   */
  expires: z.iso
    .datetime({ offset: true, message: 'must be an ISO date-time such as 2027-11-30T23:00:00Z' })
    .optional(),
  /** RFC 9116 Encryption: where the team key is (https:, openpgp4fpr:, dns:). Empty: openpgp4fpr:<team key>. */
  encryption: z.array(uri(['https:', 'openpgp4fpr:', 'dns:'], 'an https:, openpgp4fpr: or dns: URI')),
  /** RFC 9116 Policy: the published disclosure policy (the rendered procedure, for instance). */
  policy: z.array(https),
  /** RFC 9116 Preferred-Languages: language tags (RFC 5646), e.g. ["en", "de"]. */
  preferred_languages: z.array(
    z.string().regex(/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/, 'must be a language tag such as "en"'),
  ),
  /** RFC 9116 Canonical: the URLs where this security.txt is published. */
  canonical: z.array(https),
  /** RFC 9116 Acknowledgments and Hiring (optional). */
  acknowledgments: z.array(https),
  hiring: z.array(https),
  /** SECURITY.md: the safe-harbour promise to good-faith researchers, as the organisation words it. */
  safe_harbour: nonEmpty,
  /** SECURITY.md: what a good report contains. */
  report_should_include: z.array(nonEmpty),
  /**
   * Warn the accountable role (escalation.accountable_address) this long before security.txt's
   * Expires or the signing team key's expiry, once per date.
   */
  watch_before: z.strictObject({ amount: positiveInt, unit: z.enum(UNITS) }),
});

const allocation = z.strictObject({
  /** A staff address ([[staff]]). */
  holder: address,
  /** One of the holder's roles. */
  role: z.enum(ROLES),
  /** Working time allocated to this role. */
  hours_per_week: z.number().positive('must be more than 0').max(168, 'a week has 168 hours'),
});

const budgetLine = z.strictObject({
  /** What it pays for: scanning tools, training, external consulting, … */
  item: nonEmpty,
  amount: z.number().min(0, 'must not be negative'),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as "EUR"'),
  /** The period it covers, as the budget states it: "2027", "2027-H1", "annual". */
  period: nonEmpty,
  approver: nonEmpty,
  approved_on: isoDate,
});

export const staffing = z.strictObject({
  /** When staffing and funding are next reviewed (§4.2.2.2); `psirt doctor` warns once it passed. */
  review_by: isoDate.optional(),
  allocations: z.array(allocation),
  budget: z.array(budgetLine),
});
