import { z } from 'zod';
import { address, fingerprint, nonEmpty, UNITS } from './fields.js';

/**
 * The disclosure half of CVD (issue #14): the products advisories name, the customers told of
 * them, the publisher the formats carry, and the embargo reminders.
 */

const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lower-case letters, digits and "-" (at most 40), e.g. "acme-router"');

/** A product advisories can name (`/affects <id> <range>`), with its identifiers. */
export const product = z.strictObject({
  /** What staff write in `/affects` and `/fixed-in`. */
  id,
  name: nonEmpty,
  vendor: nonEmpty,
  /** Package URL without version, e.g. pkg:npm/acme-router (CSAF, OSV, CVE). */
  purl: z
    .string()
    .regex(/^pkg:[a-z][a-z0-9.+-]*\/\S+$/, 'must be a package URL such as pkg:npm/acme-router')
    .optional(),
  /** CPE 2.3 name without version, e.g. cpe:2.3:a:acme:router (CSAF, CVE). */
  cpe: z
    .string()
    .regex(/^cpe:2\.3:[aho](:[^:\s]+){2,}$/, 'must be a CPE 2.3 name such as cpe:2.3:a:acme:router')
    .optional(),
  /** OSV `affected[].package`: ecosystem and package name (OSV needs them, or a purl). */
  osv_ecosystem: nonEmpty.optional(),
  osv_package: nonEmpty.optional(),
  /** How versions compare (OSV range type, CVE versionType): "semver" or "ecosystem". */
  version_scheme: z.enum(['semver', 'ecosystem']).default('semver'),
});

/** A customer told of advisories for the products they run (§4.1.5 Method 4). */
export const customer = z.strictObject({
  name: nonEmpty,
  address,
  /** Armored public key: the notification is encrypted to it (fingerprint required with it). */
  key_file: nonEmpty.optional(),
  fingerprint: fingerprint.optional(),
  /** `products[].id` they run. */
  products: z.array(id).min(1, 'at least one product'),
});

const uuid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a UUID');

/** What the advisory formats say about who publishes them. */
export const advisory = z.strictObject({
  /** CSAF document.publisher.name; empty: organisation.name. */
  publisher_name: z.string(),
  /** CSAF document.publisher.namespace: the publisher's https URL. */
  publisher_namespace: z.url({ protocol: /^https$/, message: 'must be an https:// URL' }),
  /** CSAF document.publisher.category. */
  publisher_category: z.enum(['vendor', 'coordinator', 'discoverer', 'other', 'translator', 'user']),
  /** CVE cveMetadata.assignerOrgId / providerMetadata.orgId (your CNA's UUID); "" when not a CNA. */
  cna_org_id: z.union([uuid, z.literal('')]),
  /** CVE providerMetadata.shortName / assignerShortName; "" when not a CNA. */
  cna_short_name: z.string().max(32),
  /** Prefix of OSV ids (`<prefix>-<case id>`), e.g. the organisation's short name. */
  osv_prefix: z.string().regex(/^[A-Z][A-Z0-9]{1,15}$/, 'upper-case letters and digits, e.g. "EXAMPLE"'),
  /** Language of the advisory text (CSAF document.lang, CVE descriptions). */
  lang: z.string().regex(/^[a-z]{2}(-[A-Z]{2})?$/, 'a language tag such as "en"'),
});

const before = z.strictObject({
  amount: z.number().int('must be a whole number').min(1, 'must be at least 1'),
  unit: z.enum(UNITS),
});

/** The embargo (an agreed disclosure date, `/disclose`). */
export const disclosure = z.strictObject({
  /** Reminders to the reporter and the assignee this long before the agreed date (each once). */
  remind_before: before,
});
