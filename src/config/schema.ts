import { z } from 'zod';
import Holidays from 'date-holidays';
import { parseCaseIdFormat } from '../core/case-id.js';
import { RESOLUTIONS } from '../core/vocabulary.js';

/**
 * The one configuration schema (STYLE.md rule 8). Keys are snake_case so that each maps 1:1 to an
 * environment override (`imap.processed_folder` ⇄ `PSIRT_IMAP__PROCESSED_FOLDER`). Every object is
 * strict: a misspelt key is refused instead of silently ignored.
 */

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/i;

const port = z.number().int().min(1).max(65535);
const nonEmpty = z.string().trim().min(1, 'must not be empty');
const email = z.email({ message: 'must be an e-mail address' });
const fingerprint = z
  .string()
  .transform((s) => s.replace(/\s+/g, '').toUpperCase())
  .pipe(
    z.string().regex(/^([0-9A-F]{40}|[0-9A-F]{64})$/, 'must be a 40- or 64-hex-digit OpenPGP fingerprint'),
  );
const positiveInt = z.number().int('must be a whole number').positive('must be a positive number');

/** `tls`: "implicit" (IMAPS 993 / SMTPS 465), "starttls" (upgrade required), "none" (loopback only). */
const tlsMode = z.enum(['implicit', 'starttls', 'none']);

function refuseCleartextOffLoopback(
  v: { host: string; tls: string; allow_insecure: boolean },
  ctx: z.RefinementCtx,
): void {
  if (v.tls === 'none' && !LOOPBACK.test(v.host) && !v.allow_insecure) {
    ctx.addIssue({
      code: 'custom',
      path: ['tls'],
      message: `"none" sends the password in clear to ${v.host}; use "implicit" or "starttls", or set allow_insecure = true`,
    });
  }
}

const imap = z
  .strictObject({
    host: nonEmpty,
    port,
    tls: tlsMode,
    tls_reject_unauthorized: z.boolean(),
    /** PEM file of the CA(s) that signed the server certificate (a private CA); "" = system CAs. */
    tls_ca_file: z.string(),
    allow_insecure: z.boolean(),
    user: nonEmpty,
    auth: z.enum(['password', 'oauth2']),
    password: z.string().optional(),
    access_token: z.string().optional(),
    mailbox: nonEmpty,
    processed_folder: nonEmpty,
    quarantine_folder: nonEmpty,
    auto_idle_delay_ms: z.number().int().min(100).max(60_000),
    poll_interval_seconds: positiveInt,
    socket_timeout_seconds: positiveInt,
    max_message_bytes: positiveInt,
  })
  .superRefine((v, ctx) => {
    refuseCleartextOffLoopback(v, ctx);
    if (v.auth === 'password' && !v.password) {
      ctx.addIssue({
        code: 'custom',
        path: ['password'],
        message: 'is required when auth = "password" (set PSIRT_IMAP__PASSWORD or PSIRT_IMAP__PASSWORD_FILE)',
      });
    }
    if (v.auth === 'oauth2' && !v.access_token) {
      ctx.addIssue({
        code: 'custom',
        path: ['access_token'],
        message:
          'is required when auth = "oauth2" (set PSIRT_IMAP__ACCESS_TOKEN or PSIRT_IMAP__ACCESS_TOKEN_FILE)',
      });
    }
    for (const key of ['processed_folder', 'quarantine_folder'] as const) {
      if (v[key] === v.mailbox) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `must differ from imap.mailbox (${v.mailbox})`,
        });
      }
    }
  });

const smtp = z
  .strictObject({
    host: nonEmpty,
    port,
    tls: tlsMode,
    tls_reject_unauthorized: z.boolean(),
    /** PEM file of the CA(s) that signed the server certificate (a private CA); "" = system CAs. */
    tls_ca_file: z.string(),
    allow_insecure: z.boolean(),
    user: z.string().optional(),
    password: z.string().optional(),
    pool_size: z.number().int().min(1).max(20),
    /** Header `From:` of every mail we send. */
    from_address: email,
    from_name: nonEmpty,
    /** SMTP envelope sender (MAIL FROM) for mail that may bounce; `""` means the null sender. */
    envelope_from: z.union([email, z.literal('')]),
  })
  .superRefine((v, ctx) => {
    refuseCleartextOffLoopback(v, ctx);
    if (v.user && !v.password) {
      ctx.addIssue({
        code: 'custom',
        path: ['password'],
        message: 'is required when smtp.user is set (PSIRT_SMTP__PASSWORD or PSIRT_SMTP__PASSWORD_FILE)',
      });
    }
  });

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

const ROLES = ['security', 'developer', 'manager', 'legal', 'communications', 'support'] as const;

const staffMember = z.strictObject({
  name: nonEmpty,
  address: email,
  roles: z.array(z.enum(ROLES)).min(1, 'every staff member needs at least one role'),
  expertise: z.array(nonEmpty).default([]),
  fingerprint: fingerprint.optional(),
  /** Armored public key of `fingerprint`: notifications to this person are encrypted to it. */
  key_file: nonEmpty.optional(),
});

const UNITS = ['business_days', 'calendar_days', 'hours', 'minutes', 'seconds'] as const;

const DEADLINE_KINDS = ['acknowledge', 'triage', 'verify', 'fix', 'disclose'] as const;
const offset = z.strictObject({
  amount: z.number().int('must be a whole number').min(0, 'must not be negative'),
  unit: z.enum(UNITS),
});

const ladderStep = z
  .strictObject({
    /** Who gets this step: the case's assignee (the security staff when nobody is), on-call, or the accountable role. */
    to: z.enum(['assignee', 'oncall', 'accountable']),
    /** Fires this long before the deadline … */
    before: offset.optional(),
    /** … or this long after it (0 = when it is missed). */
    after: offset.optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.before === undefined) === (v.after === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of before or after' });
    }
  });

const expert = z.strictObject({
  name: nonEmpty,
  /** How to reach them (address, phone, contract reference): shown in the escalation. */
  contact: nonEmpty,
  expertise: z.array(nonEmpty).min(1, 'name at least one field'),
});

const escalation = z.strictObject({
  oncall_address: email,
  accountable_address: email,
  /** How often due escalation steps are looked for. */
  sweep_interval_seconds: positiveInt,
  /** Which deadlines escalate. */
  deadlines: z.array(z.enum(DEADLINE_KINDS)),
  /** The ladder each of those deadlines climbs; each step is sent once. */
  ladder: z.array(ladderStep).min(1, 'at least one step'),
  /** ISO/IEC 18974 §4.2.2.3: when to call in outside help, and whom. */
  outside_expertise: z.strictObject({
    /** Cases tagged with one of these (/tag) need outside expertise. */
    tags: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'one lower-case word')),
    /** … and so do cases whose fix date lies more than this many days after the report. */
    max_fix_days: positiveInt,
    experts: z.array(expert),
  }),
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

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const isoDate = z.iso.date({ message: 'must be a date YYYY-MM-DD' });

const calendar = z
  .strictObject({
    time_zone: z.string().refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'must be an IANA time zone such as "Europe/Berlin"'),
    working_days: z.array(z.enum(WEEKDAYS)).min(1, 'at least one working day'),
    holiday_country: z
      .string()
      .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as "DE"')
      .optional(),
    holiday_region: z.string().optional(),
    /** Count bank/partial-day holidays (e.g. 24 Dec from 14:00 in DE) as closed. */
    partial_day_holidays_closed: z.boolean(),
    closed_days: z.array(isoDate),
  })
  .superRefine((v, ctx) => {
    if (v.holiday_region && !v.holiday_country) {
      ctx.addIssue({ code: 'custom', path: ['holiday_region'], message: 'needs holiday_country' });
      return;
    }
    if (!v.holiday_country) return;
    const hd = new Holidays();
    const countries: Partial<Record<string, string>> = hd.getCountries();
    // getStates() returns undefined for countries without regions, whatever its types say.
    const states = hd.getStates(v.holiday_country) as Partial<Record<string, string>> | undefined;
    if (!countries[v.holiday_country]) {
      ctx.addIssue({
        code: 'custom',
        path: ['holiday_country'],
        message: `unknown country ${v.holiday_country}`,
      });
    } else if (v.holiday_region && !states?.[v.holiday_region]) {
      ctx.addIssue({
        code: 'custom',
        path: ['holiday_region'],
        message: `unknown region ${v.holiday_region} of ${v.holiday_country}`,
      });
    }
  });

const span = z.strictObject({ amount: positiveInt, unit: z.enum(UNITS) });

const deadlines = z
  .strictObject({
    acknowledge: span,
    triage: span,
    verify: span,
    fix: z.strictObject({
      unit: z.enum(UNITS),
      critical: positiveInt,
      high: positiveInt,
      medium: positiveInt,
      low: positiveInt,
    }),
    /** Used when no disclosure date has been agreed with the reporter. */
    disclose: span,
  })
  .superRefine((v, ctx) => {
    const order = ['critical', 'high', 'medium', 'low'] as const;
    for (let i = 1; i < order.length; i++) {
      const a = order[i - 1] as (typeof order)[number];
      const b = order[i] as (typeof order)[number];
      if (v.fix[b] < v.fix[a]) {
        ctx.addIssue({
          code: 'custom',
          path: ['fix', b],
          message: `(${v.fix[b]}) must not be shorter than fix.${a} (${v.fix[a]})`,
        });
      }
    }
  });

/** ISO/IEC 18974 guide: keep report, review, remediation and disclosure records ≥ 3 years. */
export const MIN_RETENTION_YEARS = 3;

const retention = z.strictObject({
  years: z
    .number()
    .int()
    .min(MIN_RETENTION_YEARS, `must be at least ${MIN_RETENTION_YEARS} (ISO/IEC 18974 record retention)`),
});

const intake = z.strictObject({
  /**
   * Attempts to process one stored message (a throw or a crash of the process each count, and
   * are counted before the attempt) before it is quarantined and staff are told (#10).
   */
  max_attempts: z.number().int('must be a whole number').min(1, 'must be at least 1').max(100),
});

const acknowledgment = z
  .strictObject({
    /**
     * At most this many automatic acknowledgments per hour to a sender we already know: one with a
     * pinned key, a valid signature by their key, or who replied to a mail we sent them.
     */
    max_per_sender_per_hour: z.number().int().min(0),
    /**
     * At most this many per hour to a first-contact sender (anyone else): a flood or a forged
     * sender gets one answer (issue #10). Held acknowledgments can be sent with `/ack`.
     */
    max_first_contact_per_hour: z.number().int().min(0),
  })
  .superRefine((v, ctx) => {
    if (v.max_first_contact_per_hour > v.max_per_sender_per_hour) {
      ctx.addIssue({
        code: 'custom',
        path: ['max_first_contact_per_hour'],
        message: `must not exceed acknowledgment.max_per_sender_per_hour (${v.max_per_sender_per_hour}): a stranger never gets more than a known correspondent`,
      });
    }
  });

const notifications = z.strictObject({
  /**
   * Send staff the report in clear when they have no key_file. Off by default: without a key the
   * notification only says that a case arrived, never what it says.
   */
  allow_cleartext: z.boolean(),
});

const mailer = z.strictObject({
  /** Parallel SMTP submissions per worker process. */
  concurrency: z.number().int().min(1).max(32),
  /** How often unsent outbox rows are re-enqueued (after a Redis loss or a failed enqueue). */
  reconcile_interval_seconds: positiveInt,
  /**
   * A row claimed longer ago than this belongs to a crashed worker and is sent again with the
   * same Message-ID (decision 0002). Keep it above the SMTP timeouts (60 s).
   */
  stale_claim_seconds: positiveInt,
});

const templates = z.strictObject({
  /** Folder of the mail templates; empty = the shipped config/templates. */
  dir: z.string(),
});

const log = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
});

const commands = z.strictObject({
  /** Accept a valid OpenPGP signature by the staff member's configured fingerprint (needs key_file). */
  pgp: z.boolean(),
  /** Verify DKIM ourselves (DNS lookups): a pass aligned with From: that signs Subject and Message-ID. */
  dkim_verify: z.boolean(),
  /**
   * Accept dkim=pass (or dmarc=pass) from the top-most Authentication-Results header, only when it
   * was written by one of these authserv-ids (your own border MTA, which strips forged ones).
   */
  trusted_authserv_ids: z.array(nonEmpty.transform((s) => s.toLowerCase())),
  /** A signature older than this is a replay and changes nothing. */
  max_signature_age_hours: positiveInt,
  /** At most this many "not authenticated" notices per staff member per hour (forgery floods). */
  max_rejections_per_hour: z.number().int().min(0),
});

/** Commands that need a RACI role; `/help` and `/note` are open to every staff member. */
export const GOVERNED_COMMANDS = [
  'triage',
  'assign',
  'severity',
  'cvss',
  'verified',
  'fix-by',
  'fixed',
  'disclose',
  'cve',
  'reply',
  'ack',
  'tag',
  'external',
  'duplicate',
  'link',
  'close',
  'reopen',
  'hold',
  'unhold',
  'pause',
  'publish',
  'credit',
] as const;

const raciActivity = z.strictObject({
  activity: nonEmpty,
  /** Staff commands that perform this activity. */
  commands: z.array(z.enum(GOVERNED_COMMANDS)),
  /** R: does the work; may run the commands. */
  responsible: z.array(z.enum(ROLES)).min(1, 'at least one responsible role'),
  /** A: answers for it; may run the commands too. Exactly one role (RACI). */
  accountable: z.enum(ROLES),
  /** C: asked before; I: told after. Documentation for the published procedure. */
  consulted: z.array(z.enum(ROLES)).default([]),
  informed: z.array(z.enum(ROLES)).default([]),
  /**
   * Who may run the commands: "responsible" (R roles and the A role) or "accountable" (only the
   * A role: decisions such as notifying customers).
   */
  decided_by: z.enum(['responsible', 'accountable']).default('responsible'),
});

const raci = z.array(raciActivity).superRefine((acts, ctx) => {
  const owner = new Map<string, number>();
  acts.forEach((a, i) => {
    for (const c of a.commands) {
      const first = owner.get(c);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'commands'],
          message: `/${c} is already governed by raci[${first}] (${acts[first]?.activity ?? ''})`,
        });
      }
      owner.set(c, i);
    }
  });
  const missing = GOVERNED_COMMANDS.filter((c) => !owner.has(c));
  if (missing.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `no activity governs ${missing.map((c) => `/${c}`).join(', ')}: every command needs a role`,
    });
  }
});

/** Status mails a reporter can get; each is `config/templates/status-<event>.txt`. */
export const STATUS_EVENTS = [
  'triaged',
  'verified',
  'fix-scheduled',
  'fixed',
  'disclosure-scheduled',
  'published',
  ...RESOLUTIONS.map((r) => `closed-${r}` as const),
] as const;

const statusMails = z.strictObject({
  /** Which case events mail the reporter (a `/reply` always does). */
  events: z.array(z.enum(STATUS_EVENTS)),
});

const organisation = z.strictObject({
  name: nonEmpty,
  /** Public address reporters write to; shown in templates and security.txt. */
  security_address: email,
});

export const ConfigSchema = z
  .strictObject({
    organisation,
    imap,
    intake,
    smtp,
    redis,
    database,
    pgp,
    staff: z.array(staffMember).min(1, 'at least one staff member is needed'),
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
    mailer,
    templates,
    log,
  })
  .superRefine((v, ctx) => {
    const seen = new Map<string, number>();
    v.staff.forEach((s, i) => {
      const key = s.address.toLowerCase();
      const first = seen.get(key);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['staff', i, 'address'],
          message: `${s.address} is already staff[${first}]`,
        });
      }
      seen.set(key, i);
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
export type RaciActivity = Config['raci'][number];
export type StatusEvent = (typeof STATUS_EVENTS)[number];
export type DeadlineUnit = (typeof UNITS)[number];
export const STAFF_ROLES = ROLES;
