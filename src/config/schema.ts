import { z } from 'zod';
import { parseCaseIdFormat } from '../core/case-id.js';
import { nonEmpty, positiveInt, ROLES, UNITS } from './schema/fields.js';
import {
  acknowledgment,
  commands,
  notifications,
  raci,
  STATUS_EVENTS,
  statusMails,
} from './schema/governance.js';
import { escalation, organisation, staffMember } from './schema/people.js';
import { publicChannel, staffing } from './schema/program.js';
import { calendar, deadlines } from './schema/time.js';
import { advisory, customer, disclosure, product } from './schema/advisory.js';
import { http } from './schema/http.js';
import { imap, oauth2, smtp, smtpAuthOf, smtpFallback } from './schema/transport.js';

/**
 * The one configuration schema (STYLE.md rule 8), assembled from the sections in `schema/`. Keys
 * are snake_case so that each maps 1:1 to an environment override (`imap.processed_folder` ⇄
 * `PSIRT_IMAP__PROCESSED_FOLDER`). Every object is strict: a misspelt key is refused instead of
 * silently ignored. Configured mail addresses come out lower-cased (`schema/fields.ts` `address`).
 */

export { GOVERNED_COMMANDS, STATUS_EVENTS } from './schema/governance.js';

const redis = z.strictObject({
  url: z
    .string()
    .regex(/^rediss?:\/\/[^\s]+$/, 'must be a redis:// or rediss:// URL')
    .refine((u) => URL.canParse(u), 'must be a valid URL'),
  password: z.string().optional(),
  /** Key prefix for every BullMQ queue: several installations may share one Redis. */
  prefix: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "-" and "_" only'),
});

const database = z.strictObject({
  path: nonEmpty,
});

const pgpKey = z.strictObject({
  file: nonEmpty,
  passphrase: z.string().optional(),
});

const pgp = z.strictObject({
  /** The team's secret keys. The first one signs outgoing mail; all of them decrypt (rotation). */
  keys: z.array(pgpKey).min(1, 'at least one team key is needed'),
  /** Ceiling for decompressed PGP data per message (openpgp's default is unlimited: a zip bomb). */
  max_decompressed_bytes: positiveInt,
});

const cases = z.strictObject({
  id_format: z.string().superRefine((s, ctx) => {
    try {
      parseCaseIdFormat(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  }),
});

/** ISO/IEC 18974 guide: keep report, review, remediation and disclosure records ≥ 3 years. */
export const MIN_RETENTION_YEARS = 3;

const retention = z.strictObject({
  years: z
    .number()
    .int()
    .min(MIN_RETENTION_YEARS, `must be at least ${MIN_RETENTION_YEARS} (ISO/IEC 18974 record retention)`),
  /** Local time of day (calendar.time_zone) of the daily purge run, "HH:MM" (issue #13). */
  run_at: z
    .string()
    .regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'must be a time of day "HH:MM" (24-hour), such as "03:30"'),
});

const intake = z.strictObject({
  /**
   * Attempts to process one stored message (a throw or a crash of the process each count, and
   * are counted before the attempt) before it is quarantined and staff are told (#10).
   */
  max_attempts: z.number().int('must be a whole number').min(1, 'must be at least 1').max(100),
  /**
   * Issue #16: new mail up to 1 MiB is fetched, stored and applied this many messages at a time
   * (one IMAP FETCH, one commit to store, one to apply, one enqueue); 1 = one message at a time.
   * Ignored (1) when max_attempts < 2: a crash in a batch costs each message in it one attempt.
   */
  batch_size: z.number().int('must be a whole number').min(1, 'must be at least 1').max(1000),
  /**
   * Issue #15: the first start on a mailbox that holds mail older than this, with no adoption
   * recorded, stops and names `psirt import`. Elapsed time (not business days): it is compared
   * with the dates the mailbox recorded.
   */
  adopt_older_than: z.strictObject({
    amount: positiveInt,
    unit: z.enum(UNITS).refine((u) => u !== 'business_days', {
      message: 'must be calendar_days, hours, minutes or seconds (elapsed time)',
    }),
  }),
});

const mailer = z.strictObject({
  /** Parallel SMTP submissions per worker process. */
  concurrency: z.number().int().min(1).max(32),
  /**
   * Threads that sign, encrypt and build outgoing mail beside the main thread (#16); 0 does it on
   * the main thread. They start on demand and end after a minute without mail.
   */
  compose_threads: z.number().int().min(0).max(16),
  /** How often unsent outbox rows are re-enqueued (after a Redis loss or a failed enqueue). */
  reconcile_interval_seconds: positiveInt,
  /**
   * A row claimed longer ago than this belongs to a crashed worker and is sent again with the
   * same Message-ID (decision 0002). Keep it above the SMTP timeouts (60 s).
   */
  stale_claim_seconds: positiveInt,
  /** Tries of one mail over SMTP before its job ends; the reconciler then enqueues it again (#15). */
  retry_attempts: z.number().int().min(1).max(50),
  /** First back-off delay of a transient failure; it doubles each try (BullMQ exponential). */
  retry_delay_seconds: positiveInt,
  /** While the relay refuses connections, how often it is tried again (transport verify, #15). */
  relay_check_seconds: positiveInt,
  /** Connection failures for this long raise the 'relay-down' alarm (one staff alert, #15). */
  relay_down_after_seconds: positiveInt,
});

/**
 * The dead-man on the mail path (#15): a probe mail every `interval_seconds` from the SMTP
 * identity to the service's own mailbox, expected back through IMAP within `window_seconds`; an
 * intake with no complete sync for `intake_stalled_after_seconds` is stalled. Either raises one
 * alert to on-call and one all-clear on recovery.
 */
const deadman = z
  .strictObject({
    enabled: z.boolean(),
    interval_seconds: positiveInt,
    window_seconds: positiveInt,
    intake_stalled_after_seconds: positiveInt,
    /** How often the dead-man looks (probe due, probe late, intake stalled). */
    check_seconds: positiveInt,
    /** Where probes go; "" = organisation.security_address (the mailbox the intake reads). */
    probe_to: z.union([z.email({ message: 'must be an e-mail address' }), z.literal('')]),
  })
  .superRefine((v, ctx) => {
    if (v.window_seconds < v.check_seconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['window_seconds'],
        message: `must be at least deadman.check_seconds (${String(v.check_seconds)})`,
      });
    }
  });

const templates = z.strictObject({
  /** Folder of the mail templates; empty = the shipped config/templates. */
  dir: z.string(),
});

const log = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
});

export const ConfigSchema = z
  .strictObject({
    organisation,
    imap,
    intake,
    smtp,
    oauth2,
    smtp_fallback: smtpFallback,
    redis,
    database,
    pgp,
    staff: z.array(staffMember).min(1, 'at least one staff member is needed'),
    staffing,
    public_channel: publicChannel,
    escalation,
    cases,
    calendar,
    deadlines,
    retention,
    acknowledgment,
    notifications,
    commands,
    raci,
    status_mails: statusMails,
    // Arrays of tables: none by default (TOML has no top-level key after the first table).
    products: z.array(product).default([]),
    customers: z.array(customer).default([]),
    advisory,
    disclosure,
    mailer,
    deadman,
    templates,
    log,
    http,
  })
  .superRefine((v, ctx) => {
    // OAuth2 (#15): a login by token needs a source of tokens.
    const tokenSource = v.oauth2.token_endpoint !== '' || v.oauth2.token_file !== '';
    if (v.imap.auth === 'oauth2' && !tokenSource && !v.imap.access_token) {
      ctx.addIssue({
        code: 'custom',
        path: ['imap', 'auth'],
        message:
          '"oauth2" needs oauth2.token_endpoint (with a refresh_token) or oauth2.token_file, or a static imap.access_token (PSIRT_IMAP__ACCESS_TOKEN_FILE)',
      });
    }
    if (smtpAuthOf(v.smtp) === 'oauth2' && !tokenSource) {
      ctx.addIssue({
        code: 'custom',
        path: ['smtp', 'auth'],
        message: '"oauth2" needs oauth2.token_endpoint (with a refresh_token) or oauth2.token_file',
      });
    }
    const seen = new Map<string, number>();
    v.staff.forEach((s, i) => {
      const first = seen.get(s.address);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['staff', i, 'address'],
          message: `${s.address} is already staff[${first}]`,
        });
      }
      seen.set(s.address, i);
    });
    v.staff.forEach((s, i) => {
      if (s.key_file && !s.fingerprint) {
        ctx.addIssue({
          code: 'custom',
          path: ['staff', i, 'fingerprint'],
          message: 'is required with key_file (it pins the key)',
        });
      }
    });
    v.staffing.allocations.forEach((a, i) => {
      const holder = v.staff.find((s) => s.address === a.holder);
      if (holder === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['staffing', 'allocations', i, 'holder'],
          message: `${a.holder} is not listed in [[staff]]`,
        });
      } else if (!holder.roles.includes(a.role)) {
        ctx.addIssue({
          code: 'custom',
          path: ['staffing', 'allocations', i, 'role'],
          message: `${a.holder} does not hold the "${a.role}" role (staff roles: ${holder.roles.join(', ')})`,
        });
      }
    });
    const products = new Map<string, number>();
    v.products.forEach((p, i) => {
      const first = products.get(p.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['products', i, 'id'],
          message: `${p.id} is already products[${first}]`,
        });
      }
      products.set(p.id, i);
    });
    v.customers.forEach((c, i) => {
      c.products.forEach((p, j) => {
        if (!products.has(p)) {
          ctx.addIssue({
            code: 'custom',
            path: ['customers', i, 'products', j],
            message: `${p} is not listed in [[products]]`,
          });
        }
      });
      if (c.key_file && !c.fingerprint) {
        ctx.addIssue({
          code: 'custom',
          path: ['customers', i, 'fingerprint'],
          message: 'is required with key_file (it pins the key)',
        });
      }
    });
    if (!v.staff.some((s) => s.roles.includes('security'))) {
      ctx.addIssue({
        code: 'custom',
        path: ['staff'],
        message: 'at least one member needs the "security" role',
      });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;
export type StaffMember = Config['staff'][number];
export type Product = Config['products'][number];
export type Customer = Config['customers'][number];
export type RaciActivity = Config['raci'][number];
export type StatusEvent = (typeof STATUS_EVENTS)[number];
export type DeadlineUnit = (typeof UNITS)[number];
export const STAFF_ROLES = ROLES;
