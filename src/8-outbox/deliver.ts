import type { Calendar } from '../calendar/calendar.js';
import { BACKGROUND_KINDS } from '../7-cases/change-store.js';
import { pinnedKey } from '../7-cases/case-store.js';
import type { Db } from '../7-cases/db.js';
import { readStoredRaw } from '../7-cases/intake-store.js';
import { readAdvisoryVersion } from '../7-cases/advisory-store.js';
import { directCommit, type GroupCommit } from '../7-cases/group-commit.js';
import {
  caseForMail,
  caseSubjectForMail,
  claimOutbox,
  reportMessageRow,
  firstNotification,
  loadOutbox,
  markFailed,
  markRetry,
  markSent,
  splitRejected,
  type OutboxRow,
} from '../7-cases/outbox-store.js';
import type { Config } from '../config/schema.js';
import { mailDomain, securityStaff } from '../7-cases/addresses.js';
import { neutralSubject, PROTECTED_SUBJECT, withRealSubject } from '../7-cases/subject.js';
import { parseCaseIdFormat } from '../core/case-id.js';
import type { Clock } from '../core/clock.js';
import { describeError, PsirtError } from '../core/errors.js';
import { hasFlagIn, NOT_DECODED_FLAGS } from '../core/flags.js';
import type { Logger } from '../core/log.js';
import { decodeMessage } from '../3-unwrap/unwrap.js';
import { decodeOptions } from '../3-unwrap/options.js';
import { composeMail, type Composer, type OutgoingMail, type Sealer } from './compose.js';
import { readPayload, PayloadError } from './kinds/index.js';
import type { BuiltMail, MailContext, ReadMail } from './kinds/kind.js';
import { reportView, UNDECODED_VIEW, type ReportCache, type ReportView } from './report-view.js';
import { rejectedRecipients, relayUnusable, type SmtpTransport } from './smtp-transport.js';
import type { Templates } from './templates.js';
import type { TeamKey } from '../pgp/keyring.js';
import type { Vault } from '../core/vault.js';
import { ownText } from '../6-commands/reply-text.js';

export interface DeliverDeps {
  config: Config;
  db: Db;
  clock: Clock;
  log: Logger;
  templates: Templates;
  sealer: Sealer;
  /** Where mail is composed when not on this thread (compose threads, #16); else composeMail. */
  compose?: Composer;
  transport: SmtpTransport;
  /** The second route ([smtp_fallback], #15): rows with route 'fallback' go by it when set. */
  fallbackTransport?: SmtpTransport | null;
  /** Told of each primary-route outcome: whether the relay answered (#15 relay-down watch). */
  relay?: RelayWatch;
  teamKeys: readonly TeamKey[];
  staffKeys: ReadonlyMap<string, string>;
  /** Customer name → armored public key (`customers[].key_file`, checked at start). */
  customerKeys?: ReadonlyMap<string, string>;
  calendar: Calendar;
  /** Decoded reports by message row: one decode serves every staff member's notification. */
  reports: ReportCache;
  /** Opens stored mail and sealed case subjects (#13). */
  vault: Vault;
  /** Told after a row was marked sent (the metrics' acknowledgment latency, #15). Must not throw. */
  onSent?: (row: OutboxRow) => void;
  /**
   * Where the outbox bookkeeping (claim, sent, retry, failed) is committed (#16): the mailer
   * passes one group committer, so concurrent jobs share durable commits. Without it each
   * write commits alone, at once.
   */
  writes?: GroupCommit;
}

/** What the relay watch of the mailer hears from each send by the primary route (#15). */
export interface RelayWatch {
  answered(): void;
  unreachable(err: unknown): void;
}

/** Tries of a row through the compose threads before it is composed on the main thread. */
export const COMPOSER_TRIES = 3;

/** A claim older than this belongs to a crashed worker; the row is sent again (decision 0002). */
export const staleClaimMs = (config: Config): number => config.mailer.stale_claim_seconds * 1000;

/** Thrown for a failure a retry can fix (4xx, network): BullMQ retries the job with backoff. */
export class TransientSendError extends PsirtError {
  constructor(message: string, cause: unknown) {
    super('smtp_transient', message, { cause, retryable: true });
  }
}

/**
 * Renders one row: the headers every mail shares, then its kind's rendering of the payload
 * (`mail`, read and validated before).
 */
function buildMail(deps: DeliverDeps, row: OutboxRow, mail: ReadMail): Promise<BuiltMail> {
  const { config, db } = deps;
  const c = row.case_id === null ? null : caseForMail(db, deps.vault, row.case_id);
  const team = deps.teamKeys[0];
  if (team === undefined) throw new PsirtError('no_team_key', 'no team key is loaded');
  const autoSubmitted = mail.payload.autoSubmitted;
  const base: Omit<OutgoingMail, 'text'> = {
    from: { name: config.smtp.from_name, address: config.smtp.from_address },
    to: row.recipients,
    // Settled by protectSubject once the protection is known.
    subject: row.subject,
    outerSubject: row.subject,
    messageId: row.message_id,
    inReplyTo: row.in_reply_to,
    references: row.refs,
    headers:
      autoSubmitted === 'no' ? {} : { 'Auto-Submitted': autoSubmitted, 'X-Auto-Response-Suppress': 'All' },
    date: deps.clock.now(),
  };
  // Only a staff mail may have no case (a command mail that named none): the kind decides.
  return mail.render({ ctx: mailContext(deps, team), row, case: c, base });
}

/** What the kind modules may look up, bound to this mailer's store, decoder and keys. */
function mailContext(deps: DeliverDeps, team: TeamKey): MailContext {
  const { db } = deps;
  return {
    config: deps.config,
    clock: deps.clock,
    calendar: deps.calendar,
    templates: deps.templates,
    teamFingerprint: team.fingerprint,
    staffKeys: deps.staffKeys,
    pinnedKey: (address) => pinnedKey(db, address),
    firstNotification: (caseId, recipient, beforeId) => firstNotification(db, caseId, recipient, beforeId),
    report: (rowId, reporter, notDecoded) =>
      deps.reports.get(rowId, () => viewReport(deps, rowId, reporter, notDecoded)),
    staffText: (rowId) => staffText(deps, rowId),
    hasReply: (rowId) => hasReply(db, rowId),
    outboxRow: (id) => loadOutbox(db, id),
    advisoryVersion: (caseId, kind, number) => readAdvisoryVersion(db, deps.vault, caseId, kind, number),
    customerKey: (name) => deps.customerKeys?.get(name) ?? null,
  };
}

/**
 * RFC 9788 header protection of one mail: encrypted mail shows outside only the case tag
 * (`Re: [SEC-2026-0001] ...`) and carries the real subject inside. Outbox rows hold only the
 * neutral subject (#13): the real one comes from the case's sealed subject, and goes in clear
 * (signed mail) only when the report itself was not protected (decision 0005: its subject was on
 * the wire already). A case written before #13 has no sealed subject: its rows hold its clear
 * subject, or PROTECTED_SUBJECT, and a protected report is decrypted again for the real one.
 */
async function protectSubject(deps: DeliverDeps, row: OutboxRow, built: BuiltMail): Promise<BuiltMail> {
  const encrypted = built.protection.kind === 'encrypted';
  const pattern = parseCaseIdFormat(deps.config.cases.id_format).pattern;
  let real: string | null = null;
  // A customer's mail names the published advisory, never the report's subject.
  if (row.case_id !== null && row.kind !== 'customer-advisory') {
    const sealed = caseSubjectForMail(deps.db, deps.vault, row.case_id);
    if (sealed !== null) {
      if (encrypted || !sealed.protected) real = sealed.subject;
    } else if (encrypted) {
      real = await legacyProtectedSubject(deps, row.case_id);
    }
  }
  const subject = real === null ? row.subject : withRealSubject(row.subject, real, pattern);
  if (!encrypted) return { ...built, mail: { ...built.mail, subject, outerSubject: subject } };
  return {
    ...built,
    mail: { ...built.mail, subject, outerSubject: neutralSubject(row.subject, row.case_id) },
  };
}

/** The real subject of a protected report stored before #13, decrypted again from the report. */
async function legacyProtectedSubject(deps: DeliverDeps, caseId: string): Promise<string | null> {
  const c = caseForMail(deps.db, deps.vault, caseId);
  if (c === null || c.subject !== PROTECTED_SUBJECT) return null;
  const reportRow = reportMessageRow(deps.db, c.id);
  if (reportRow === null) return null;
  const view = await deps.reports.get(reportRow, () =>
    viewReport(deps, reportRow, c.reporter_address, hasFlagIn(NOT_DECODED_FLAGS, c.flags)),
  );
  return view.subject;
}

/** Whether the command mail of a confirmation also queued a `/reply` to the reporter. */
function hasReply(db: Db, messageRowId: number): boolean {
  return db.prepare('SELECT 1 FROM outbox WHERE dedupe_key = ?').get(`reply:${messageRowId}`) !== undefined;
}

/**
 * The staff member's own text of a stored command mail, decoded again (a `/reply` is kept only as
 * the stored mail, possibly encrypted to the team key: no plaintext at rest).
 */
async function staffText(deps: DeliverDeps, rowId: number): Promise<string> {
  const raw = await readStoredRaw(deps.db, deps.vault, rowId, deps.config.imap.max_message_bytes);
  if (raw === null) throw new PsirtError('reply_missing', `stored message ${rowId} is not readable`);
  const decoded = await decodeMessage(raw, decodeOptions(deps.config, deps.teamKeys, deps.clock));
  const text = ownText(decoded.text);
  if (text === '') throw new PsirtError('reply_empty', `stored message ${rowId} has no text to relay`);
  return text;
}

/** Decodes a stored report for staff (decrypting it again: no plaintext is kept at rest). */
async function viewReport(
  deps: DeliverDeps,
  rowId: number,
  reporter: string,
  corrupt: boolean,
): Promise<ReportView> {
  const raw = await readStoredRaw(deps.db, deps.vault, rowId, deps.config.imap.max_message_bytes);
  if (raw === null || corrupt) return UNDECODED_VIEW;
  const pinned = pinnedKey(deps.db, reporter);
  return reportView(
    await decodeMessage(
      raw,
      decodeOptions(deps.config, deps.teamKeys, deps.clock, pinned === null ? [] : [pinned.armored]),
    ),
  );
}

/**
 * True when retrying cannot help: the server answered 5xx, or nodemailer refused the envelope
 * itself (`EENVELOPE` with no SMTP reply: no recipient left, an address it will not put in
 * RCPT TO) — that refusal repeats identically on every retry (#10). An `EENVELOPE` that carries
 * a server reply is judged by that reply (4xx stays transient).
 */
export function isPermanent(err: unknown): boolean {
  const { responseCode, code } = (err ?? {}) as { responseCode?: unknown; code?: unknown };
  if (typeof responseCode === 'number') return responseCode >= 500 && responseCode < 600;
  return code === 'EENVELOPE';
}

/**
 * Renders one stored row as it would be sent (payload read and validated, template rendered,
 * subject protected), without sealing or sending it. Throws PayloadError for a payload that
 * does not parse.
 */
export async function renderOutbox(deps: DeliverDeps, row: OutboxRow): Promise<BuiltMail> {
  return protectSubject(deps, row, await buildMail(deps, row, readPayload(row)));
}

/**
 * Sends one outbox row (the mailer job). Idempotent: a row that is not pending (or stale
 * `sending`) is left alone, so a duplicate job does nothing.
 * Its writes go through `deps.writes` (a group committer in the mailer, #16): each is awaited,
 * so it is committed before the next step, just no longer alone.
 * 1. claim the row in SQLite (committed before any SMTP traffic)
 * 2. read the payload with its kind's schema: one that does not parse (an older version, a
 *    missing field) → failed + staff alert, never rendered with defaults
 * 3. render the template, seal (sign / encrypt), compose the MIME message
 * 4. submit over SMTP; on 250 mark it sent at once (the next group commit) — for the recipients
 *    that took it: each one the relay refused gets a row of its own first (#16, splitRejected)
 * 5. 5xx or a local envelope refusal → failed + staff alert; anything else → pending again and
 *    TransientSendError (retry)
 * Returns the ids of rows created (alerts, refused recipients' rows) to enqueue.
 */
export async function deliverOutbox(deps: DeliverDeps, outboxId: number): Promise<number[]> {
  const { db, clock } = deps;
  const writes = deps.writes ?? directCommit();
  // Awaited: the claim is committed (durably, with other jobs' writes) before any SMTP traffic.
  const row = await writes.run(() => claimOutbox(db, clock, outboxId, staleClaimMs(deps.config)));
  if (row === null) return [];
  const log = deps.log.child({ outboxId, caseId: row.case_id, kind: row.kind });
  let mail: ReadMail;
  try {
    mail = readPayload(row);
  } catch (err) {
    if (!(err instanceof PayloadError)) throw err;
    // Names the template and fields only: never a value from the payload.
    log.error(
      { event: 'outbox.payload-invalid', template: err.template, fields: err.fields },
      'the stored payload does not parse',
    );
    return alertIds(deps, writes, row, err.message);
  }
  // An all-clear never overtakes the alert it clears (a trial saw the clear of a relay-down sent
  // 0.2 s before the alert): it waits, pending, until that one left (or failed for good).
  const clears = /^alarm:(\d+):cleared$/.exec(row.dedupe_key);
  if (clears !== null && alertStillWaiting(db, `alarm:${clears[1] ?? ''}:raised`)) {
    await writes.run(() => markRetry(db, row, 'waiting for the alert it clears'));
    log.info({ event: 'outbox.clear-waits' }, 'all-clear waits for its alert');
    throw new TransientSendError('waiting for the alert it clears', null);
  }
  let raw: Buffer;
  let envelopeFrom: string;
  try {
    const built = await protectSubject(deps, row, await buildMail(deps, row, mail));
    envelopeFrom = built.envelopeFrom;
    // After a few tries through a composer that could not answer (a thread that dies on this
    // very mail), it is composed here: it then succeeds, or fails as the mail's own fault, with
    // the alert — never retried forever (review of #16).
    raw =
      deps.compose === undefined || row.attempts > COMPOSER_TRIES
        ? await composeMail(built.mail, built.protection, deps.sealer)
        : await deps.compose(built.mail, built.protection, { background: BACKGROUND_KINDS.has(row.kind) });
  } catch (err) {
    if (err instanceof PsirtError && err.retryable) {
      // The composer could not answer (a compose thread died): the mail is not at fault.
      await writes.run(() => markRetry(db, row, describeError(err)));
      log.warn(
        { event: 'outbox.compose-unavailable', err: describeError(err) },
        'composer unavailable; will retry',
      );
      throw new TransientSendError(describeError(err), err);
    }
    // #16: a key that cannot be encrypted to (expired, revoked) must fail only its own member's
    // mail, not a whole group's: each other recipient gets a row of its own (the reconciler
    // sends it) and this one is tried again for its first recipient alone (decision 0012).
    if (row.recipients.length > 1 && isRecipientKeyFailure(err)) {
      const why = `sealed apart: ${describeError(err)}`;
      const others = row.recipients.slice(1).map((address) => ({ address, permanent: false, error: why }));
      await writes.run(() => {
        const apart = splitRejected(db, clock, row, others, alertTo(deps.config), 'sealed-apart');
        markRetry(db, apart.row, why);
      });
      log.warn({ event: 'outbox.sealed-apart', recipients: row.recipients.length }, 'sealing apart');
      throw new TransientSendError(why, err);
    }
    // A render/seal failure will not fix itself by retrying: fail the row and tell staff.
    log.error({ event: 'outbox.render-failed', err: describeError(err) }, 'could not build the mail');
    return alertIds(deps, writes, row, `could not build the mail: ${describeError(err)}`);
  }
  const fallback = row.route === 'fallback' ? (deps.fallbackTransport ?? null) : null;
  const transport = fallback ?? deps.transport;
  const watched = fallback === null ? deps.relay : undefined;
  try {
    const info = await transport.sendMail({ envelope: { from: envelopeFrom, to: row.recipients }, raw });
    watched?.answered();
    // Decision 0002: a crash before this commit leaves the row `sending`; it is sent again, with
    // the same Message-ID, once the claim is stale. #16: recipients refused while others took it
    // get rows of their own first, in the same commit (decision 0012).
    const split = await writes.run(() => {
      const apart = splitRejected(
        db,
        clock,
        row,
        rejectedRecipients(row.recipients, info),
        alertTo(deps.config),
      );
      markSent(db, clock, apart.row, info.response);
      return apart;
    });
    log.info(
      {
        event: 'outbox.sent',
        recipients: split.row.recipients.length,
        route: fallback === null ? 'primary' : 'fallback',
      },
      'sent',
    );
    deps.onSent?.(split.row);
    return split.enqueue;
  } catch (err) {
    // A refused login (EAUTH, an OAuth2 token the source cannot give) is no answer: no mail
    // leaves, so it must not clear or hold off the relay-down alarm.
    if (relayUnusable(err)) watched?.unreachable(err);
    else watched?.answered();
    if (isPermanent(err)) {
      log.warn({ event: 'outbox.failed', err: describeError(err) }, 'refused permanently');
      return alertIds(deps, writes, row, describeError(err));
    }
    await writes.run(() => markRetry(db, row, describeError(err)));
    log.warn(
      { event: 'outbox.deferred', err: describeError(err), attempt: row.attempts },
      'transient failure; will retry',
    );
    throw new TransientSendError(describeError(err), err);
  }
}

/** Whether the outbox row with this dedupe key exists and has neither been sent nor failed. */
function alertStillWaiting(db: Db, dedupeKey: string): boolean {
  const r = db.prepare('SELECT state FROM outbox WHERE dedupe_key = ?').get(dedupeKey) as
    { state: string } | undefined;
  return r !== undefined && r.state !== 'sent' && r.state !== 'failed';
}

/** Who a delivery-failed alert goes to, and the domain of its Message-ID. */
function alertTo(config: Config): { recipients: string[]; domain: string } {
  return { recipients: securityStaff(config), domain: mailDomain(config) };
}

/** A key the sealer could not encrypt to (sign-and-encrypt.ts): another recipient's would do. */
function isRecipientKeyFailure(err: unknown): boolean {
  return (
    err instanceof PsirtError &&
    (err.code === 'pgp_encrypt_failed' || err.code === 'pgp_recipient_key_invalid')
  );
}

async function alertIds(
  deps: DeliverDeps,
  writes: GroupCommit,
  row: OutboxRow,
  error: string,
): Promise<number[]> {
  const id = await writes.run(() => markFailed(deps.db, deps.clock, row, error, alertTo(deps.config)));
  return id === null ? [] : [id];
}
