import { createWriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { ImapFlow } from 'imapflow';
import type { Logger } from '../core/log.js';
import { describeError } from '../core/errors.js';
import type { Vault } from '../core/vault.js';
import { connectImap, type ImapConfig, type ImapOAuth2 } from './imap-client.js';
import { OAuth2Error } from '../core/oauth2.js';
import { recoverAfterRestore, type RestoreRecovery } from './restore-recovery.js';

/** One message fetched from the mailbox: its bytes in memory, or on disk when over the size limit. */
export interface FetchedRaw {
  mailbox: string;
  uidvalidity: string;
  uid: number;
  size: number;
  internalDate: string | null;
  /** The exact bytes (mail up to `imap.max_message_bytes`), for decoding. */
  raw: Buffer | null;
  /**
   * Where the bytes are kept when the mail is over 1 MiB (oversize mail: only here), sealed
   * (`Vault.openFile(rawPath, 'spool')`, #13); `raw` and `sha256` are of the mail as fetched.
   */
  rawPath: string | null;
  sha256: string;
}

/**
 * Where a processed message goes in the mailbox (and its row); null leaves it to retry later.
 * `rowId` null: a message that is stored nowhere (a returned dead-man probe, #15), only filed.
 */
export type FileTo = { target: 'processed' | 'quarantine'; rowId: number | null } | null;

/** What the intake asks of the rest of the service; all SQLite work happens behind these. */
export interface IntakeHandlers {
  /** The last UIDVALIDITY/UID stored, or null for a first run. */
  checkpoint(): { uidvalidity: string; lastUid: number } | null;
  /** Stores and applies one message (both transactions committed on return). */
  handle(msg: FetchedRaw): Promise<FileTo>;
  /**
   * Stores and applies several new messages (issue #16), committed on return; one FileTo per
   * message, in order. Must not throw for one message's sake. Absent: `handle` one at a time.
   */
  handleBatch?(msgs: readonly FetchedRaw[]): Promise<FileTo[]>;
  /** How many messages `handleBatch` takes at once (`intake.batch_size`); absent or 1: no batches. */
  batchSize?: number;
  /** Committed messages of this UIDVALIDITY still in the mailbox (a crash before the move). */
  unfiled(uidvalidity: string): { rowId: number; uid: number; target: 'processed' | 'quarantine' }[];
  filed(rowIds: number[], target: 'processed' | 'quarantine'): void;
  /** Re-applies stored messages left `received` by a crash between the two transactions. */
  resumePending(): Promise<void>;
  /** After `psirt restore`, until it is done: mail filed after the backup to move back (#13). */
  restoreRecovery?(): RestoreRecovery | null;
  /** After each complete sync round (#15: the 'intake.synced' mark the dead-man watches). */
  synced?(): void;
}

export interface IntakeOptions {
  /** Folder for oversize raw mail (beside the database). */
  spoolDir: string;
  /** Seals spool files as they are written (#13: nothing readable at rest, `.partial` included). */
  vault: Vault;
  log: Logger;
  /** Told when the IMAP connection comes up or goes (the metrics, #15). Must not throw. */
  onConnection?: (connected: boolean) => void;
  /** Told after each complete sync round (the metrics, #15). Must not throw. */
  onSynced?: () => void;
  /** imap.auth = "oauth2": the token source and mechanism (#15). */
  oauth2?: ImapOAuth2 | null;
}

export interface RunningIntake {
  stop(): Promise<void>;
  /** Resolves after the next complete sync round (tests, demo). */
  synced(): Promise<void>;
}

const MAX_BACKOFF_MS = 60_000;

/** Mail larger than this is stored as a file in the spool folder instead of in SQLite. */
export const SPOOL_OVER_BYTES = 1024 * 1024;

/** A batch (issue #16) holds at most this many bytes of mail, whatever `intake.batch_size`. */
export const BATCH_MAX_BYTES = 8 * 1024 * 1024;

/** A UID set for IMAP, consecutive UIDs as ranges ("3:7,9"); `uids` ascending. */
export function uidSet(uids: readonly number[]): string {
  const parts: string[] = [];
  let start: number | null = null;
  let prev = 0;
  for (const uid of uids) {
    if (start !== null && uid === prev + 1) {
      prev = uid;
      continue;
    }
    if (start !== null) parts.push(start === prev ? String(start) : `${start}:${prev}`);
    start = uid;
    prev = uid;
  }
  if (start !== null) parts.push(start === prev ? String(start) : `${start}:${prev}`);
  return parts.join(',');
}

/**
 * The IMAP intake: a supervisor that keeps one connection, syncs from the SQLite checkpoint,
 * then waits on IDLE (`exists`) or the poll interval. A dropped connection is replaced by a new
 * client (a closed ImapFlow cannot reconnect) with exponential backoff; every reconnect re-syncs
 * from the checkpoint, so nothing is skipped. Messages move to the processed/quarantine folder only
 * after `handle()` committed them (invariant 2); nothing is ever deleted.
 */
export function startImapIntake(
  cfg: ImapConfig,
  handlers: IntakeHandlers,
  opts: IntakeOptions,
): RunningIntake {
  const log = opts.log;
  // Read through functions: the flags change in event handlers the type checker cannot see.
  const state = { stopping: false };
  const stopped = (): boolean => state.stopping;
  let client: ImapFlow | null = null;
  let wake: (() => void) | null = null;
  let syncWaiters: (() => void)[] = [];

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });

  async function syncRound(c: ImapFlow): Promise<void> {
    await handlers.resumePending();
    const lock = await c.getMailboxLock(cfg.mailbox);
    try {
      const box = c.mailbox;
      if (box === false) throw new Error(`mailbox ${cfg.mailbox} is not selected`);
      const uidvalidity = box.uidValidity.toString();
      const cp = handlers.checkpoint();
      const rescan = cp === null || cp.uidvalidity !== uidvalidity;
      if (cp !== null && rescan) {
        log.warn(
          { event: 'intake.uidvalidity-changed', was: cp.uidvalidity, now: uidvalidity },
          'UIDVALIDITY changed: rescanning, duplicates are recognised by content',
        );
      }
      const from = rescan ? 1 : cp.lastUid + 1;
      const moves: Record<'processed' | 'quarantine', number[]> = { processed: [], quarantine: [] };
      const filedRows: Record<'processed' | 'quarantine', number[]> = { processed: [], quarantine: [] };
      for (const u of handlers.unfiled(uidvalidity)) {
        moves[u.target].push(u.uid);
        filedRows[u.target].push(u.rowId);
      }
      // NB! `UID FETCH n:*` always returns the highest UID, even below n: filter (RFC 3501 §6.4.8).
      const listed =
        box.exists === 0
          ? []
          : await c.fetchAll(`${from}:*`, { uid: true, size: true, internalDate: true }, { uid: true });
      const fresh = listed.filter((m) => m.uid >= from).sort((a, b) => a.uid - b.uid);
      if (fresh.length > 0) log.info({ event: 'intake.fetched', count: fresh.length, from }, 'new messages');
      const file = (uid: number, filed: FileTo): void => {
        if (filed === null) return;
        moves[filed.target].push(uid);
        if (filed.rowId !== null) filedRows[filed.target].push(filed.rowId);
      };
      // Issue #16: mail up to SPOOL_OVER_BYTES (and imap.max_message_bytes) is fetched and handled
      // in batches (one FETCH, one commit to store, one to apply); larger mail is downloaded and
      // handled alone, as it always was.
      const handleBatch = handlers.handleBatch?.bind(handlers);
      const batchSize = handleBatch === undefined ? 1 : Math.max(1, handlers.batchSize ?? 1);
      let batch: { uid: number; size: number; internalDate: string | null }[] = [];
      let batchBytes = 0;
      const flush = async (): Promise<void> => {
        const metas = batch;
        batch = [];
        batchBytes = 0;
        if (metas.length === 0 || handleBatch === undefined) return;
        const msgs = await downloadBatch(c, metas, uidvalidity);
        let filed: FileTo[];
        try {
          filed = await handleBatch(msgs);
        } catch (err) {
          // As for one message below: they stay in place and are retried next round.
          log.error(
            { event: 'intake.batch-failed', uids: msgs.map((m) => m.uid), err: describeError(err) },
            'messages not processed; retried next round',
          );
          return;
        }
        for (const [i, msg] of msgs.entries()) file(msg.uid, filed[i] ?? null);
      };
      for (const meta of fresh) {
        if (stopped()) break;
        const size = meta.size ?? 0;
        const internalDate = meta.internalDate instanceof Date ? meta.internalDate.toISOString() : null;
        // Oversize mail (over imap.max_message_bytes, which may be below SPOOL_OVER_BYTES) is
        // never held in memory: always the streaming path.
        if (batchSize > 1 && size <= Math.min(SPOOL_OVER_BYTES, cfg.max_message_bytes)) {
          if (batch.length >= batchSize || (batch.length > 0 && batchBytes + size > BATCH_MAX_BYTES))
            await flush();
          batch.push({ uid: meta.uid, size, internalDate });
          batchBytes += size;
          continue;
        }
        await flush();
        if (stopped()) break;
        const msg = await download(c, meta.uid, size, uidvalidity, internalDate);
        let filed: FileTo;
        try {
          filed = await handlers.handle(msg);
        } catch (err) {
          // One bad message must not stall the mailbox: it stays in place (and, once stored, in
          // SQLite as `received`), is retried every round, and the rest goes on.
          log.error(
            { event: 'intake.message-failed', uid: meta.uid, err: describeError(err) },
            'message not processed; retried next round',
          );
          continue;
        }
        file(meta.uid, filed);
      }
      if (!stopped()) await flush();
      for (const target of ['processed', 'quarantine'] as const) {
        const uids = moves[target];
        if (uids.length === 0) continue;
        const folder = target === 'processed' ? cfg.processed_folder : cfg.quarantine_folder;
        await c.messageMove(uids.join(','), folder, { uid: true });
        handlers.filed(filedRows[target], target);
        log.info({ event: 'intake.filed', folder, count: uids.length }, 'messages filed');
      }
    } finally {
      lock.release();
    }
  }

  /**
   * The sources of several messages up to SPOOL_OVER_BYTES in one UID FETCH (issue #16), in UID
   * order. A message gone meanwhile (expunged by another client) is left out: nothing to store.
   */
  async function downloadBatch(
    c: ImapFlow,
    metas: readonly { uid: number; size: number; internalDate: string | null }[],
    uidvalidity: string,
  ): Promise<FetchedRaw[]> {
    const got = new Map<number, Buffer>();
    const listed = await c.fetchAll(
      uidSet(metas.map((m) => m.uid)),
      { uid: true, source: true },
      { uid: true },
    );
    for (const m of listed) if (m.source !== undefined) got.set(m.uid, m.source);
    const out: FetchedRaw[] = [];
    for (const meta of metas) {
      const raw = got.get(meta.uid);
      if (raw === undefined) {
        log.warn({ event: 'intake.vanished', uid: meta.uid }, 'message gone before it could be fetched');
        continue;
      }
      const sha256 = createHash('sha256').update(raw).digest('hex');
      const base = { mailbox: cfg.mailbox, uidvalidity, uid: meta.uid, internalDate: meta.internalDate };
      out.push(await keep(base, raw, sha256));
    }
    return out;
  }

  /**
   * A message fetched into memory, as kept: large mail (over SPOOL_OVER_BYTES) is also written,
   * sealed, as a file beside the database rather than a SQLite blob (which would copy it once
   * more in memory and bloat the database); it is still decoded from memory.
   */
  async function keep(
    base: Pick<FetchedRaw, 'mailbox' | 'uidvalidity' | 'uid' | 'internalDate'>,
    raw: Buffer,
    sha256: string,
  ): Promise<FetchedRaw> {
    if (raw.length <= SPOOL_OVER_BYTES) return { ...base, size: raw.length, raw, rawPath: null, sha256 };
    await mkdir(opts.spoolDir, { recursive: true });
    const file = join(opts.spoolDir, `${sha256}.eml`);
    await writeFile(`${file}.partial`, opts.vault.seal(raw, 'spool'));
    await rename(`${file}.partial`, file);
    return { ...base, size: raw.length, raw, rawPath: file, sha256 };
  }

  async function download(
    c: ImapFlow,
    uid: number,
    size: number,
    uidvalidity: string,
    internalDate: string | null,
  ): Promise<FetchedRaw> {
    const base = { mailbox: cfg.mailbox, uidvalidity, uid, size, internalDate };
    const { content } = await c.download(String(uid), undefined, { uid: true, chunkSize: 1 << 20 });
    if (!content) throw new Error(`message uid ${uid} vanished before it could be downloaded`);
    const hash = createHash('sha256');
    if (size <= cfg.max_message_bytes) {
      // Preallocated to the announced size: one copy of the message in memory, not two.
      let buf = Buffer.allocUnsafe(size);
      let used = 0;
      for await (const chunk of content as AsyncIterable<Buffer>) {
        if (used + chunk.length > buf.length) {
          const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, used + chunk.length));
          buf.copy(bigger, 0, 0, used);
          buf = bigger;
        }
        chunk.copy(buf, used);
        used += chunk.length;
        hash.update(chunk);
      }
      return keep(base, buf.subarray(0, used), hash.digest('hex'));
    }
    // Oversize: stream to the spool, never holding it in memory, sealed on the way (the digest is
    // of the mail itself, for dedupe); rename only when complete.
    await mkdir(opts.spoolDir, { recursive: true });
    const partial = join(opts.spoolDir, `${uidvalidity}-${uid}.eml.partial`);
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    await pipeline(content, hasher, opts.vault.sealingStream('spool'), createWriteStream(partial));
    const sha256 = hash.digest('hex');
    const final = join(opts.spoolDir, `${sha256}.eml`);
    await rename(partial, final);
    return { ...base, raw: null, rawPath: final, sha256 };
  }

  async function supervise(): Promise<void> {
    let backoff = 1000;
    while (!stopped()) {
      let c: ImapFlow | null = null;
      const conn = { closed: false };
      const isClosed = (): boolean => conn.closed;
      // Runs on each client connectImap makes (a second one after a refused OAuth2 token).
      const prepare = (fresh: ImapFlow): void => {
        conn.closed = false;
        client = fresh;
        fresh.on('error', (err: unknown) =>
          log.warn({ event: 'intake.connection-error', err: describeError(err) }, 'IMAP connection error'),
        );
        fresh.on('close', () => {
          if (client === fresh) conn.closed = true;
          wake?.();
        });
        fresh.on('exists', () => wake?.());
      };
      try {
        c = await connectImap(
          cfg,
          log.isLevelEnabled('trace') ? log.child({ component: 'imapflow' }) : false,
          opts.oauth2 ?? null,
          prepare,
        );
        log.info({ event: 'intake.connected', host: cfg.host, mailbox: cfg.mailbox }, 'IMAP connected');
        opts.onConnection?.(true);
        backoff = 1000;
        const recovery = handlers.restoreRecovery?.() ?? null;
        if (recovery !== null) await recoverAfterRestore(c, cfg, recovery, log);
        while (!stopped() && !isClosed()) {
          await syncRound(c);
          opts.onSynced?.();
          try {
            handlers.synced?.();
          } catch (err) {
            log.warn({ event: 'intake.mark-failed', err: describeError(err) }, 'sync mark not written');
          }
          const waiters = syncWaiters;
          syncWaiters = [];
          for (const w of waiters) w();
          if (stopped() || isClosed()) break;
          await sleep(cfg.poll_interval_seconds * 1000);
        }
      } catch (err) {
        if (err instanceof OAuth2Error && !stopped()) {
          // A refused token or refresh token: the line says what to set (never the token).
          log.error(
            { event: 'intake.oauth2-failed', code: err.code, err: err.message, retryInMs: backoff },
            'IMAP OAuth2 login failed',
          );
        } else if (!stopped())
          log.warn(
            { event: 'intake.round-failed', err: describeError(err), retryInMs: backoff },
            'IMAP round failed',
          );
      } finally {
        client = null;
        opts.onConnection?.(false);
        const last = c;
        if (last !== null && !isClosed()) await last.logout().catch(() => last.close());
      }
      if (stopped()) break;
      await sleep(backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  const done = supervise();
  return {
    async stop() {
      state.stopping = true;
      wake?.();
      const c = client;
      if (c) await c.logout().catch(() => c.close());
      await done;
    },
    synced: () =>
      new Promise<void>((resolve) => {
        syncWaiters.push(resolve);
        wake?.();
      }),
  };
}
