import { z } from 'zod';
import type { AdvisorySnapshot } from '../../advisory/model.js';
import type { Calendar } from '../../calendar/calendar.js';
import type { Config } from '../../config/schema.js';
import type { Clock } from '../../core/clock.js';
import { PsirtError } from '../../core/errors.js';
import { CASE_FLAGS } from '../../core/flags.js';
import type { OutgoingMail, Protection } from '../compose.js';
import { formatDate } from '../render.js';
import type { ReportView } from '../report-view.js';
import type { Templates } from '../templates.js';

/**
 * What a mail kind is: the schema of its outbox payload (what the writer in src/7-cases stores,
 * validated when the mailer reads it) and its rendering. One module per kind in this folder;
 * `index.ts` assembles the union and the registry.
 */

/**
 * `auto-replied` for answers to a mail, `auto-generated` for the rest (RFC 3834 §5); `no` for a
 * person's words relayed (`/reply`).
 */
export const autoSubmittedSchema = z.enum(['auto-replied', 'auto-generated', 'no']);
export type AutoSubmitted = z.infer<typeof autoSubmittedSchema>;

/** The case's flags when the mail was queued. */
export const flagsSchema = z.array(z.enum(CASE_FLAGS));

/** The stored inbound message a mail is about (the mailer decodes it again for staff). */
export const messageRowIdSchema = z.number().int();

/** What every payload carries: its template (the discriminant) and its RFC 3834 marking. */
export interface PayloadBase {
  template: string;
  autoSubmitted: AutoSubmitted;
}

/** What a mail shows of its case (metadata; `subject` is PROTECTED_SUBJECT for a protected report). */
export interface MailCase {
  id: string;
  stage: string;
  severity: string | null;
  assignee: string | null;
  reporter_address: string;
  reporter_name: string | null;
  subject: string;
  flags: string[];
  created_at: string;
  deadlines: Record<string, string>;
}

/** The outbox row being sent, as far as rendering needs it. */
export interface MailRow {
  id: number;
  kind: string;
  recipients: string[];
  created_at: string;
}

/** An outbox row another mail reports on (the delivery-failed alert). */
export interface FailedRow {
  kind: string;
  recipients: string[];
  message_id: string;
  last_error: string | null;
}

/**
 * What rendering may look up, injected by the mailer (src/8-outbox/deliver.ts): the store and the
 * decoder stay out of the kind modules, so the payload types carry no runtime imports.
 */
export interface MailContext {
  config: Config;
  clock: Clock;
  calendar: Calendar;
  templates: Templates;
  /** The team key every mail is signed with. */
  teamFingerprint: string;
  /** Staff public keys by address (staff[].key_file). */
  staffKeys: ReadonlyMap<string, string>;
  pinnedKey(address: string): { armored: string } | null;
  /**
   * The Message-IDs of the first notification each of `recipients` got for the case (before row
   * `beforeId`), oldest first, each once: later ones thread under them (outbox-store.ts).
   */
  firstNotification(caseId: string, recipients: readonly string[], beforeId: number): string[];
  /** The staff view of a stored report, decoded again (or not, when `notDecoded`). */
  report(messageRowId: number, reporter: string, notDecoded: boolean): Promise<ReportView>;
  /** The staff member's own text of a stored command mail (`/reply`). */
  staffText(messageRowId: number): Promise<string>;
  /** Whether the command mail also queued a `/reply` to the reporter. */
  hasReply(messageRowId: number): boolean;
  outboxRow(id: number): FailedRow | null;
  /** One frozen version of a case's advisory (`advisory_versions`), opened; null: no such version. */
  advisoryVersion(caseId: string, kind: 'draft' | 'revision', number: number): AdvisorySnapshot | null;
  /** The armored public key of a customer (`customers[].key_file`, by name); null: none loaded. */
  customerKey(name: string): string | null;
}

/** The rendered mail before header protection: body, sealing and envelope sender. */
export interface BuiltMail {
  mail: OutgoingMail;
  protection: Protection;
  envelopeFrom: string;
}

/** One mail to render: the row, its validated payload, its case, and the headers already set. */
export interface MailInput<P, C = MailCase> {
  ctx: MailContext;
  row: MailRow;
  payload: P;
  case: C;
  base: Omit<OutgoingMail, 'text'>;
}

/** Why a stored payload was refused: the fields (paths) that do not parse, never their values. */
export interface PayloadProblem {
  fields: string[];
  detail: string;
}

/** A stored payload that parsed, bound to its kind's rendering. */
export interface ReadMail {
  payload: PayloadBase;
  render(m: Omit<MailInput<unknown, MailCase | null>, 'payload'>): Promise<BuiltMail>;
}

export interface MailKind<P extends PayloadBase> {
  readonly schema: z.ZodType<P>;
  /** Parses a stored payload with this kind's schema; what parses is bound to the rendering. */
  read(json: unknown): { ok: true; mail: ReadMail } | { ok: false; problem: PayloadProblem };
}

function reader<P extends PayloadBase>(
  schema: z.ZodType<P>,
  render: (m: MailInput<P, MailCase | null>) => Promise<BuiltMail>,
): MailKind<P>['read'] {
  return (json) => {
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues;
      return {
        ok: false,
        problem: {
          fields: issues.map((i) => (i.path.length === 0 ? '(payload)' : i.path.join('.'))),
          // The zod code and expected type only: zod's message can quote a stored key or value
          // (an unrecognised key's name), and this text reaches last_error, an event and an alert.
          detail: issues
            .map((i) => {
              const where = i.path.length === 0 ? '(payload)' : i.path.join('.');
              return `${where}: ${i.code}${i.code === 'invalid_type' ? ` (expected ${i.expected})` : ''}`;
            })
            .join('; '),
        },
      };
    }
    const payload = parsed.data;
    return { ok: true, mail: { payload, render: (m) => render({ ...m, payload }) } };
  };
}

/** A kind whose mail is always about a case. */
export function defineKind<P extends PayloadBase>(
  schema: z.ZodType<P>,
  render: (m: MailInput<P>) => Promise<BuiltMail>,
): MailKind<P> {
  return {
    schema,
    read: reader(schema, (m) => {
      const c = m.case;
      if (c === null) throw new PsirtError('outbox_orphan', `outbox row ${m.row.id} has no case`);
      return render({ ...m, case: c });
    }),
  };
}

/** A kind that may be about no case: the answer to a staff command mail that named none. */
export function defineCaselessKind<P extends PayloadBase>(
  schema: z.ZodType<P>,
  render: (m: MailInput<P, MailCase | null>) => Promise<BuiltMail>,
): MailKind<P> {
  return { schema, read: reader(schema, render) };
}

/** Encrypted to the staff keys when every recipient has one (staff[].key_file), else signed. */
export function staffProtection(ctx: MailContext, recipients: readonly string[]): Protection {
  const keys = recipients.map((r) => ctx.staffKeys.get(r));
  return keys.length > 0 && keys.every((k): k is string => k !== undefined)
    ? { kind: 'encrypted', recipientKeys: keys }
    : { kind: 'signed' };
}

/** Encrypted to the reporter's pinned key when we have one, else signed (invariant 6). */
export function reporterProtection(key: { armored: string } | null): Protection {
  return key === null ? { kind: 'signed' } : { kind: 'encrypted', recipientKeys: [key.armored] };
}

/** "Received at" and "triage by" as every mail about a case shows them. */
export function caseDates(ctx: MailContext, c: MailCase): { received: string; triageBy: string } {
  const tz = ctx.config.calendar.time_zone;
  return {
    received: formatDate(c.created_at, tz),
    triageBy: c.deadlines.triage === undefined ? 'soon' : formatDate(c.deadlines.triage, tz),
  };
}
