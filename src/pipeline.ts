import type { Calendar } from './calendar/calendar.js';
import { verifyDkim, type DnsResolver } from './5-authenticate/dkim.js';
import { classify, type Classification, type ClassifyContext } from './4-classify/classify.js';
import { prepareStaffMail, type StaffMailInput } from './6-commands/prepare.js';
import { subjectTags, threadIds } from './4-classify/thread.js';
import type { Config } from './config/schema.js';
import { applyMessage } from './7-cases/apply.js';
import { loadThreadIndex, pinnedKey, type ApplyDeps, type ApplyResult } from './7-cases/case-store.js';
import type { CaseFlag } from './core/flags.js';
import type { Db } from './7-cases/db.js';
import {
  beginAttempt,
  getCheckpoint,
  markFiled,
  readStoredHead,
  readStoredRaw,
  pendingMessageIds,
  recordAttemptError,
  refundBatchAttempts,
  storeBatch,
  type BatchStoreOutcome,
  type StoreOutcome,
  storeRaw,
  storedInternalDate,
  unfiledMessages,
} from './7-cases/intake-store.js';
import { holdsMessage, pendingRestoreRecovery, recordRecovery } from './7-cases/backup-store.js';
import type { CaseIdFormat } from './core/case-id.js';
import { fixedClock, type Clock } from './core/clock.js';
import { inFlightMarker, type InFlight } from './core/inflight.js';
import { createGroupCommit } from './7-cases/group-commit.js';
import { originalDate } from './core/original-date.js';
import { describeError, PsirtError } from './core/errors.js';
import type { Logger } from './core/log.js';
import { scanProbeHeader, scanRawHeaders, type RawHeaderScan } from './core/raw-headers.js';
import { decodeOptions } from './3-unwrap/options.js';
import { decodeMessage } from './3-unwrap/unwrap.js';
import type { DecodedMessage } from './2-decode/types.js';
import type { FetchedRaw, FileTo, IntakeHandlers } from './1-intake/imap-poller.js';
import type { MailerQueue } from './jobs/queues.js';
import { reportView, type ReportCache } from './8-outbox/report-view.js';
import type { TeamKey } from './pgp/keyring.js';
import type { ServiceMetrics } from './metrics/metrics.js';
import type { Vault } from './core/vault.js';
import type { TokenSource } from './core/oauth2.js';
import { staffByAddress } from './core/staff.js';
import { markProgress } from './7-cases/alarm-store.js';
import { recordProbeReturn } from './7-cases/probe-store.js';
import { INTAKE_SYNCED, parseProbeHeader, probeMaxAgeSeconds } from './policy/deadman.js';

/** What the composition root builds once and every role shares. */
export interface ServiceDeps {
  config: Config;
  db: Db;
  clock: Clock;
  log: Logger;
  teamKeys: readonly TeamKey[];
  /** Staff address (lower-case) → armored public key from `staff[].key_file`. */
  staffKeys: ReadonlyMap<string, string>;
  /** Customer name → armored public key from `customers[].key_file` (issue #14). */
  customerKeys?: ReadonlyMap<string, string>;
  calendar: Calendar;
  caseIdFormat: CaseIdFormat;
  /** Report views shared between intake and mailer in one process (one decode per report). */
  reports: ReportCache;
  /**
   * Seals report content before it is stored and opens it again (#13): the data keys the
   * loaded team keys unwrap, and a current one to seal with (src/roles/vault.ts).
   */
  vault: Vault;
  /**
   * OAuth2 access tokens for imap.auth / smtp.auth = "oauth2" (#15), one source shared by the
   * intake and the mailer of a process; null when neither logs in with OAuth2.
   */
  tokens?: TokenSource | null;
  /** DNS for DKIM keys (`commands.dkim_verify`); node's resolver when absent. Tests inject one. */
  dnsResolver?: DnsResolver;
  /**
   * Fault injection for tests only: runs on the raw bytes just before decoding. Nothing in the
   * configuration or the environment sets it (see workers/start.ts); tests inject it.
   */
  beforeDecode?: (raw: Buffer) => void;
  /**
   * This process's metrics (#15): what its intake fetched, classified and failed to decode, its
   * IMAP connection, its mailer's acknowledgment latency. Absent with `http.enabled = false`.
   */
  metrics?: ServiceMetrics;
}

export interface PipelineDeps extends ServiceDeps {
  mailer: MailerQueue;
  /**
   * `psirt import` (issue #15): every mail is recorded as history — with its original date, no
   * outbox row, staff commands recorded and never applied, deadlines historical.
   */
  historical?: { adoptionId: number };
}

const HEAD_BYTES = 256 * 1024;

/** A stored message decoded and classified, ready to apply (nothing written yet). */
interface Prepared {
  rowId: number;
  scan: RawHeaderScan;
  decoded: DecodedMessage | null;
  flags: CaseFlag[];
  /** As classified before the transaction; a batch classifies again inside it. */
  classification: Classification;
  /** Staff mail, authenticated and parsed (undefined for other mail and for history). */
  staff: StaffMailInput | undefined;
  mlog: Logger;
}

/** A prepared message applied (committed once its transaction is). */
interface Applied {
  prepared: Prepared;
  classification: Classification;
  result: ApplyResult;
}

/**
 * An error as recorded for a failed attempt: class, code and message, on one line and capped.
 * Error messages name what failed, not the mail (invariant 6); the cap keeps an odd one short.
 */
function errorRecord(err: unknown): string {
  const name = err instanceof Error ? err.name : typeof err;
  const text = describeError(err);
  const line = text.startsWith(name) ? text : `${name}: ${text}`;
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

/**
 * The intake pipeline for one message (DESIGN.md "The flow"), as the handlers the IMAP poller
 * calls: (a) store raw + checkpoint, (b) decode, (c) classify, (d) apply in one transaction,
 * (e) enqueue the outbox rows. The poller files the IMAP copy after (e).
 */
export function createPipeline(deps: PipelineDeps): IntakeHandlers {
  const { config, db, clock, log, vault } = deps;
  const inFlight = inFlightMarker(db.name);
  // The applies of an intake batch share one durable commit (#16), a savepoint each.
  const applies = createGroupCommit(db, { maxBatch: config.intake.batch_size });
  const ctx: ClassifyContext = {
    ourAddresses: [
      ...new Set([config.organisation.security_address, config.smtp.from_address, config.imap.user]),
    ].map((a) => a.toLowerCase()),
    staffAddresses: config.staff.map((s) => s.address),
    caseIdPattern: deps.caseIdFormat.pattern,
  };

  /** Authenticates a mail from a staff address and reads its commands (before the transaction). */
  async function staffMail(
    decoded: DecodedMessage,
    raw: Buffer,
    address: string,
    mlog: Logger,
  ): Promise<StaffMailInput | undefined> {
    const member = staffByAddress(config.staff, address);
    if (member === undefined) return undefined;
    const dkim = config.commands.dkim_verify
      ? await verifyDkim(raw, address, deps.dnsResolver === undefined ? {} : { resolver: deps.dnsResolver })
      : null;
    const input = prepareStaffMail(decoded, member, dkim, {
      config,
      now: clock.now(),
      caseIdPattern: ctx.caseIdPattern,
    });
    const { auth, parsed } = input;
    if (auth.ok && input.tampered !== null) {
      // Names what differs, never the subject's words (it may be a protected subject).
      mlog.warn(
        { event: 'commands.tampered', staff: address, auth: auth.label, reason: input.tampered },
        'staff mail changed after signing; nothing changes',
      );
    } else if (auth.ok) {
      mlog.info(
        {
          event: 'commands.authenticated',
          staff: address,
          auth: auth.label,
          commands: parsed.commands.length,
        },
        'staff mail authenticated',
      );
    } else {
      // Forged or unsigned: logged (the reason names keys and methods, never content).
      mlog.warn(
        {
          event: 'commands.unauthenticated',
          staff: address,
          reason: auth.reason,
          commands: parsed.commands.length,
        },
        'staff mail NOT authenticated; nothing changes',
      );
    }
    return input;
  }

  /**
   * Steps (b) and the asynchronous part of (c) for a stored message: its bytes, decoded, its
   * flags, and for staff mail the authentication (DKIM may ask DNS). Writes nothing; may throw.
   * `fresh`: the bytes just fetched, so a large mail is not read back from SQLite a second time,
   * with their header scan from handle(), so it runs once per mail.
   */
  async function prepare(
    rowId: number,
    fresh?: { raw: Buffer | null; scan: RawHeaderScan },
  ): Promise<Prepared> {
    const mlog = log.child({ msgRow: rowId });
    const raw = fresh?.raw ?? (await readStoredRaw(db, vault, rowId, config.imap.max_message_bytes));
    const scan = fresh?.scan ?? (await scanStored(rowId, raw));
    const flags: CaseFlag[] = [];
    let decoded: DecodedMessage | null = null;
    if (raw === null) {
      flags.push('oversize');
    } else {
      const senderKeys: string[] = [];
      if (scan.from !== null) {
        const pinned = pinnedKey(db, scan.from);
        if (pinned) senderKeys.push(pinned.armored);
        // Every staff key, so a signature by another member's key is named, not "unknown".
        if (deps.staffKeys.has(scan.from)) senderKeys.push(...deps.staffKeys.values());
      }
      deps.beforeDecode?.(raw);
      try {
        decoded = await decodeMessage(raw, decodeOptions(config, deps.teamKeys, clock, senderKeys));
      } catch (err) {
        // Unparseable mail still becomes a case: flagged, quarantined, staff told (invariant 2).
        flags.push('corrupt');
        const code = err instanceof PsirtError ? err.code : 'decode_failed';
        mlog.warn({ event: 'decode.failed', code, err: describeError(err) }, 'message could not be decoded');
      }
    }
    if (decoded !== null) {
      if (decoded.encryption.state === 'failed') flags.push('undecryptable');
      if (decoded.signature.state === 'invalid') flags.push('signature-invalid');
      mlog.info(
        {
          event: 'decode.decoded',
          encryption: decoded.encryption.state,
          signature: decoded.signature.state,
          attachments: decoded.attachments.length,
        },
        'decoded',
      );
    }
    const classification = classifyStored(rowId, scan, decoded);
    // History (issue #15): a staff command mail is recorded, never applied.
    const staff =
      classification.kind === 'staff' && decoded !== null && raw !== null && deps.historical === undefined
        ? await staffMail(decoded, raw, classification.staff, mlog)
        : undefined;
    return { rowId, scan, decoded, flags, classification, staff, mlog };
  }

  /** Step (c): the thread lookups for a stored message as the store holds them now, and the verdict. */
  function classifyStored(
    rowId: number,
    scan: RawHeaderScan,
    decoded: DecodedMessage | null,
  ): Classification {
    const index = loadThreadIndex(db, {
      messageRowId: rowId,
      messageId: decoded?.messageId ?? scan.messageId,
      threadIds: decoded ? threadIds(decoded) : [],
      tags: decoded ? subjectTags(decoded.subject, ctx.caseIdPattern) : [],
      bouncedMessageId: decoded?.delivery?.originalMessageId ?? null,
    });
    return decoded !== null
      ? classify(decoded, index, ctx)
      : index.sameMessageId !== null
        ? { kind: 'duplicate', of: index.sameMessageId.messageRowId, caseId: index.sameMessageId.caseId }
        : { kind: 'new-report', linkedTo: null };
  }

  /**
   * Step (d) for a prepared message: one IMMEDIATE transaction, or a savepoint inside the batch's
   * (`applyMessage` nests). `reclassify`: classify again first, inside the transaction, so a mail
   * sees what the messages applied before it in the same batch wrote (a reply to a report of the
   * same batch is its follow-up, a second copy its duplicate). The staff input prepared before
   * still fits: being staff mail depends on the sender alone, and a mail duplicate before is
   * duplicate still.
   */
  function applyPrepared(p: Prepared, reclassify: boolean): Applied {
    const classification = reclassify ? classifyStored(p.rowId, p.scan, p.decoded) : p.classification;
    const result = applyMessage(applyDeps(p.rowId, p.decoded?.date ?? null), {
      messageRowId: p.rowId,
      decoded: p.decoded,
      fallback: { sender: p.scan.from, messageId: p.scan.messageId },
      classification,
      flags: p.flags,
      ...(p.staff === undefined || classification.kind !== 'staff' ? {} : { staff: p.staff }),
    });
    return { prepared: p, classification, result };
  }

  /** After the commit of an applied message: the report view, the metrics, the log line. */
  function applied({ prepared: p, classification, result }: Applied): FileTo {
    if (p.decoded !== null && (classification.kind === 'new-report' || classification.kind === 'follow-up')) {
      deps.reports.put(p.rowId, reportView(p.decoded));
    }
    countApplied(classification.kind, p.flags);
    p.mlog.info(
      {
        event: 'cases.applied',
        kind: classification.kind,
        caseId: result.caseId,
        outbox: result.outboxIds.length,
        flags: p.flags,
      },
      'applied',
    );
    return { target: result.quarantine ? 'quarantine' : 'processed', rowId: p.rowId };
  }

  /** One attempt at steps (b)–(e) for a stored message; may throw (process() catches it). */
  async function processOnce(
    rowId: number,
    fresh?: { raw: Buffer | null; scan: RawHeaderScan },
  ): Promise<FileTo> {
    const done = applyPrepared(await prepare(rowId, fresh), false);
    const filed = applied(done);
    await enqueue(done.result, done.prepared.mlog);
    return filed;
  }

  /**
   * Records one failed attempt of a message (a throw, not a crash), to be retried next round:
   * only for attempts below `intake.max_attempts` (a batch only holds first attempts, and none
   * when max_attempts < 2).
   */
  function attemptFailed(rowId: number, attempt: number, err: unknown): null {
    const error = errorRecord(err);
    recordAttemptError(db, rowId, error);
    log.error(
      { event: 'intake.attempt-failed', msgRow: rowId, attempt, of: config.intake.max_attempts, err: error },
      'message not processed; retried next round',
    );
    return null;
  }

  /**
   * Steps (b)–(e) for new messages whose first attempt `storeBatch` counted (issue #16):
   * 1. prepare each (decode, staff authentication), in order; one that throws is its own failed
   *    attempt and is left out;
   * 2. apply them all in ONE transaction, each in its own savepoint, so one whose apply throws
   *    is rolled back alone and recorded as its failed attempt while the others commit;
   * 3. after the commit: report views, metrics, and one enqueue for all their outbox rows.
   * Decoding reads the sender's pinned key, which an earlier mail of the same sender may pin:
   * a second mail of one sender is decoded only after the group so far is applied and committed.
   * If the transaction itself fails (busy, disk full), every message of the group has failed
   * this attempt; each is retried alone next round (invariant 8).
   */
  function createGroup(mark: (at: number) => void): {
    add(rowId: number, fresh: { raw: Buffer | null; scan: RawHeaderScan }): Promise<void>;
    flush(): Promise<void>;
    results: Map<number, FileTo>;
  } {
    const results = new Map<number, FileTo>();
    let pending: Prepared[] = [];
    const senders = new Set<string>();
    async function flush(): Promise<void> {
      const group = pending;
      pending = [];
      senders.clear();
      if (group.length === 0) return;
      // One durable commit for the group, each apply in its own savepoint: the group committer
      // (src/7-cases/group-commit.ts) queues them all in this turn and runs them as one batch.
      const outcomes = await Promise.all(
        group.map((p) =>
          applies
            .run(() => {
              mark(p.rowId);
              return applyPrepared(p, true);
            })
            .then(
              (a): Applied | { failed: Prepared; err: unknown } => a,
              (err: unknown) => ({ failed: p, err }),
            ),
        ),
      );
      const outboxIds: number[] = [];
      const background: number[] = [];
      for (const o of outcomes) {
        if ('failed' in o) {
          // Its savepoint rolled back alone (or, when SQLite lost the transaction or BEGIN/COMMIT
          // failed, the whole group: every message has then failed this attempt, retried alone).
          results.set(o.failed.rowId, attemptFailed(o.failed.rowId, 1, o.err));
          continue;
        }
        results.set(o.prepared.rowId, applied(o));
        outboxIds.push(...o.result.outboxIds);
        background.push(...o.result.backgroundOutboxIds);
      }
      await enqueue({ outboxIds, backgroundOutboxIds: background }, log);
    }
    return {
      results,
      flush,
      async add(rowId, fresh) {
        const sender = fresh.scan.from?.toLowerCase() ?? null;
        if (sender !== null && senders.has(sender)) await flush();
        let p: Prepared;
        try {
          mark(rowId);
          p = await prepare(rowId, fresh);
        } catch (err) {
          results.set(rowId, attemptFailed(rowId, 1, err));
          return;
        }
        pending.push(p);
        if (sender !== null) senders.add(sender);
      },
    };
  }

  /**
   * Processes one stored message so that nothing it contains can stop the mailbox (DESIGN.md
   * invariant 8, #10):
   * 1. count the attempt and commit the count before anything parses the mail — a crash (or a
   *    kill) during the attempt is then seen at the next start;
   * 2. after `intake.max_attempts` attempts, quarantine it without decoding it again;
   * 3. otherwise process it; any throw becomes this message's failure: recorded, and retried
   *    next round until the attempts are used up. The rest of the mailbox goes on either way.
   */
  async function process(
    rowId: number,
    fresh?: { raw: Buffer | null; scan: RawHeaderScan },
  ): Promise<FileTo> {
    const max = config.intake.max_attempts;
    const { attempts, lastError } = beginAttempt(db, rowId);
    if (attempts > max) {
      // The last attempt ended the process before it could record why: say so (#10 review).
      const error =
        lastError ?? `the process stopped during processing (crash or kill), ${attempts - 1} time(s)`;
      if (lastError === null) recordAttemptError(db, rowId, error);
      return quarantineFailed(rowId, attempts - 1, error, fresh?.scan);
    }
    try {
      return await processOnce(rowId, fresh);
    } catch (err) {
      if (attempts < max) return attemptFailed(rowId, attempts, err);
      const error = errorRecord(err);
      recordAttemptError(db, rowId, error);
      return quarantineFailed(rowId, attempts, error, fresh?.scan);
    }
  }

  /**
   * Files a message whose processing failed `attempts` times: a case flagged
   * `processing-failed` from the raw header scan alone (nothing decodes it again), staff told by
   * the case notification, the IMAP copy moved to the quarantine folder (invariant 2).
   */
  async function quarantineFailed(
    rowId: number,
    attempts: number,
    error: string,
    scanned?: RawHeaderScan,
  ): Promise<FileTo> {
    const scan = scanned ?? (await scanStored(rowId, null));
    const index = loadThreadIndex(db, {
      messageRowId: rowId,
      messageId: scan.messageId,
      threadIds: [],
      tags: [],
      bouncedMessageId: null,
    });
    const classification: Classification =
      index.sameMessageId !== null
        ? { kind: 'duplicate', of: index.sameMessageId.messageRowId, caseId: index.sameMessageId.caseId }
        : { kind: 'new-report', linkedTo: null };
    const result = applyMessage(applyDeps(rowId, null), {
      messageRowId: rowId,
      decoded: null,
      fallback: { sender: scan.from, messageId: scan.messageId },
      classification,
      flags: ['processing-failed'],
    });
    countApplied(classification.kind, ['processing-failed']);
    log.error(
      { event: 'intake.quarantined', msgRow: rowId, attempts, err: error, caseId: result.caseId },
      'message failed every attempt: quarantined, staff told',
    );
    await enqueue(result, log.child({ msgRow: rowId }));
    return { target: 'quarantine', rowId };
  }

  /** Counts an applied mail in this process's metrics: its kind, and why it could not be read. */
  function countApplied(kind: Classification['kind'], flags: readonly CaseFlag[]): void {
    const m = deps.metrics?.intake;
    if (m === undefined) return;
    m.classified(kind);
    for (const f of flags) if (f !== 'key-changed') m.decodeFailed(f);
  }

  /**
   * What applying a stored message needs; for history (issue #15), a clock at the mail's
   * original date (Date header, else the date the mailbox recorded) and the import's id.
   */
  function applyDeps(rowId: number, headerDate: string | null): ApplyDeps {
    const base = { db, clock, config, caseIdFormat: deps.caseIdFormat, calendar: deps.calendar, vault };
    if (deps.historical === undefined) return base;
    const at = originalDate(headerDate, storedInternalDate(db, rowId), clock.now());
    return { ...base, clock: fixedClock(at), historical: deps.historical };
  }

  /** Hands the new outbox rows to the mailer. */
  async function enqueue(
    result: { outboxIds: number[]; backgroundOutboxIds: number[] },
    mlog: Logger,
  ): Promise<void> {
    try {
      await deps.mailer.enqueue(result.outboxIds, { background: result.backgroundOutboxIds });
    } catch (err) {
      // Not lost: the rows are in SQLite and the reconciler enqueues them (invariant 1).
      mlog.warn(
        { event: 'outbox.enqueue-failed', err: describeError(err) },
        'enqueue failed; the reconciler will retry',
      );
    }
  }

  /** The header scan of a stored message: of its bytes, or of the head of its (sealed) spool file. */
  async function scanStored(rowId: number, raw: Buffer | null): Promise<RawHeaderScan> {
    if (raw !== null) return scanRawHeaders(raw);
    return scanRawHeaders(await readStoredHead(db, vault, rowId, HEAD_BYTES));
  }

  /**
   * The header scan of a fetched message, and whether it is our own dead-man probe back through
   * IMAP (#15): recorded and filed, never a case. Only the probe mail itself counts (MAC holds
   * for a probe we sent, and the Message-ID is the one minted for it): anything else (forged,
   * unknown token, the header copied into another mail, a probe long past its window) goes on as
   * ordinary mail, so a probe header never hides a report.
   */
  async function intakeScan(msg: FetchedRaw): Promise<{ scan: RawHeaderScan; probe: boolean }> {
    deps.metrics?.intake.fetched();
    const head =
      msg.raw ??
      (msg.rawPath !== null ? await vault.openFile(msg.rawPath, 'spool', HEAD_BYTES) : Buffer.alloc(0));
    const scan = scanRawHeaders(head);
    const probeHeader = scanProbeHeader(head);
    const claim = probeHeader === null ? null : parseProbeHeader(probeHeader);
    if (claim !== null) {
      const seen = recordProbeReturn(db, clock, vault, claim, {
        messageId: scan.messageId,
        maxAgeSeconds: probeMaxAgeSeconds(config.deadman.window_seconds, config.deadman.interval_seconds),
      });
      if (seen === 'returned' || seen === 'again') {
        log.info(
          { event: 'deadman.probe-returned', uid: msg.uid, first: seen === 'returned' },
          'dead-man probe came back',
        );
        return { scan, probe: true };
      }
      if (seen === 'replayed')
        log.warn(
          { event: 'deadman.probe-header-replayed', uid: msg.uid },
          'a valid probe header in a mail that is not the probe: ordinary mail',
        );
      else
        log.warn(
          { event: 'deadman.probe-refused', uid: msg.uid, why: seen },
          'probe header not ours (or too old): ordinary mail',
        );
    }
    return { scan, probe: false };
  }

  /** What a known message (`storeRaw`: same position or bytes) still needs: processing or filing. */
  async function handleKnown(outcome: Extract<StoreOutcome, { kind: 'known' }>): Promise<FileTo> {
    // Left `received` (it has had an attempt): processed alone (invariant 8).
    if (outcome.state === 'received') return process(outcome.rowId);
    // Already applied: only the IMAP copy is left to file (a crash after commit, or a rescan).
    return { target: outcome.quarantined ? 'quarantine' : 'processed', rowId: outcome.rowId };
  }

  /**
   * Several fetched messages at once (issue #16), each as `handle` would, with the bookkeeping
   * grouped: one transaction stores the new ones, advances the checkpoint once and counts their
   * first attempts (committed before anything parses them, invariant 8); then they are decoded
   * and applied together (`createGroup`). Returned probes and known messages keep their own
   * path; a known message left `received` is processed alone, in its place in the order. If the
   * store transaction fails, each message goes through `handle` alone, as before batches.
   */
  async function handleBatch(msgs: readonly FetchedRaw[]): Promise<FileTo[]> {
    const filed: FileTo[] = msgs.map(() => null);
    const toStore: { at: number; msg: FetchedRaw; scan: RawHeaderScan }[] = [];
    for (const [at, msg] of msgs.entries()) {
      const { scan, probe } = await intakeScan(msg);
      if (probe) filed[at] = { target: 'processed', rowId: null };
      else toStore.push({ at, msg, scan });
    }
    let outcomes: BatchStoreOutcome[];
    try {
      outcomes = storeBatch(
        db,
        clock,
        vault,
        toStore.map(({ msg, scan }) => ({ ...msg, messageId: scan.messageId })),
      );
    } catch (err) {
      log.warn(
        { event: 'intake.batch-store-failed', count: toStore.length, err: describeError(err) },
        'batch not stored; storing its messages one at a time',
      );
      for (const { at, msg, scan } of toStore) filed[at] = await handleOne(msg, scan);
      return filed;
    }
    // Which message is being worked on, for the attempts a crash would cost (src/core/inflight.ts).
    const rows: InFlight['rows'] = [];
    for (const [i, outcome] of outcomes.entries()) {
      const uid = toStore[i]?.msg.uid;
      if (outcome.kind === 'stored' && uid !== undefined) rows.push({ id: outcome.rowId, uid });
    }
    const mark = (at: number): void => {
      if (rows.length > 0) inFlight.mark({ rows, at });
    };
    const group = createGroup(mark);
    const storedHere = new Set<number>();
    const sameAs: { at: number; rowId: number }[] = [];
    try {
      for (const [i, outcome] of outcomes.entries()) {
        const item = toStore[i];
        if (item === undefined) continue;
        if (outcome.kind === 'stored') {
          storedHere.add(outcome.rowId);
          await group.add(outcome.rowId, { raw: item.msg.raw, scan: item.scan });
        } else if (storedHere.has(outcome.rowId)) {
          // The same bytes twice in one batch: filed as the first copy is, once it is applied.
          sameAs.push({ at: item.at, rowId: outcome.rowId });
        } else {
          if (outcome.state === 'received') {
            await group.flush();
            mark(outcome.rowId);
          }
          filed[item.at] = await handleKnown(outcome);
        }
      }
      await group.flush();
    } finally {
      // No crash: every message's outcome is committed or recorded.
      if (rows.length > 0) inFlight.clear();
    }
    for (const [i, outcome] of outcomes.entries()) {
      const item = toStore[i];
      if (item !== undefined && outcome.kind === 'stored')
        filed[item.at] = group.results.get(outcome.rowId) ?? null;
    }
    for (const { at, rowId } of sameAs) filed[at] = group.results.get(rowId) ?? null;
    return filed;
  }

  /** Step (a) and on for one fetched message that is not a returned probe. */
  async function handleStored(msg: FetchedRaw, scan: RawHeaderScan): Promise<FileTo> {
    const outcome = storeRaw(db, clock, vault, { ...msg, messageId: scan.messageId });
    if (outcome.kind === 'known') return handleKnown(outcome);
    return process(outcome.rowId, { raw: msg.raw, scan });
  }

  /** `handleStored` for a message of a batch that could not be stored as one; its throw is its own. */
  async function handleOne(msg: FetchedRaw, scan: RawHeaderScan): Promise<FileTo> {
    try {
      return await handleStored(msg, scan);
    } catch (err) {
      log.error(
        { event: 'intake.message-failed', uid: msg.uid, err: describeError(err) },
        'message not processed; retried next round',
      );
      return null;
    }
  }

  /** One fetched message (`IntakeHandlers.handle`). */
  async function handle(msg: FetchedRaw): Promise<FileTo> {
    const { scan, probe } = await intakeScan(msg);
    if (probe) return { target: 'processed', rowId: null };
    return handleStored(msg, scan);
  }

  /**
   * After a crash during a batch (issue #16): the message being worked on keeps the attempt it
   * was charged; its batch-mates, which did not cause the crash, get theirs back, so one mail that
   * crashes the process costs the others nothing (invariant 8). All of them are then processed
   * alone, one at a time (`resumePending`).
   */
  function giveBackInterrupted(): void {
    const left = inFlight.read();
    if (left === null) return;
    const others = left.rows.filter((r) => r.id !== left.at);
    const given = refundBatchAttempts(db, others);
    log.warn(
      { event: 'intake.batch-interrupted', msgRow: left.at, batch: left.rows.length, givenBack: given },
      'the process stopped during a batch: its other messages are retried alone, their attempt given back',
    );
    inFlight.clear();
  }

  /**
   * Messages per batch (`intake.batch_size`). A crash during a batch may cost each message in it
   * one attempt (when the in-work marker did not survive, src/core/inflight.ts): with
   * max_attempts < 2 that would quarantine innocent mail, so then there are no batches (one
   * message at a time, as `handle`).
   */
  const batchSize = config.intake.max_attempts < 2 ? 1 : config.intake.batch_size;

  return {
    checkpoint: () => getCheckpoint(db, config.imap.mailbox),
    unfiled: (uidvalidity) => unfiledMessages(db, config.imap.mailbox, uidvalidity),
    filed: (rowIds, target) => markFiled(db, rowIds, target),
    restoreRecovery() {
      const pending = pendingRestoreRecovery(db);
      if (pending === null) return null;
      return {
        since: new Date(pending.takenAt),
        holds: (sha256, raw) => holdsMessage(db, sha256, scanRawHeaders(raw).messageId),
        done: (moved) => recordRecovery(db, clock, pending.restoreEventId, moved),
      };
    },
    async resumePending() {
      giveBackInterrupted();
      // The IMAP copies of these are filed by the unfiled() pass of the same round.
      for (const id of pendingMessageIds(db)) {
        try {
          await process(id);
        } catch (err) {
          log.error(
            { event: 'intake.resume-failed', msgRow: id, err: describeError(err) },
            'stored message not applied; retried next round',
          );
        }
      }
    },
    synced: () => markProgress(db, clock, INTAKE_SYNCED),
    handle,
    batchSize,
    async handleBatch(msgs) {
      if (batchSize > 1) return handleBatch(msgs);
      const filed: FileTo[] = [];
      for (const msg of msgs) filed.push(await handle(msg));
      return filed;
    },
  };
}
