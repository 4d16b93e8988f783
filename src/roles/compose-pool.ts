import { Worker } from 'node:worker_threads';
import type { Composer, OutgoingMail, Protection } from '../8-outbox/compose.js';
import { threadEnv } from '../config/load.js';
import { PsirtError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { TeamKey } from '../pgp/keyring.js';
import type { ComposeReply, ComposeRequest } from './compose-thread.js';

/** The thread could not answer (it crashed or was stopped): the mail is not at fault, retry it. */
export class ComposerUnavailable extends PsirtError {
  constructor(message: string) {
    super('composer_unavailable', message, { retryable: true });
  }
}

export interface ComposePool {
  compose: Composer;
  /** Threads running now (they start on demand and end when idle). */
  threads(): number;
  close(): Promise<void>;
}

/** Threads failing to start in a row before the pool composes on the caller's thread. */
const START_FAILURES = 2;

/** Mails one thread holds at once: one in work, one crossing the port behind it. */
const PER_THREAD = 2;

interface Waiting {
  mail: OutgoingMail;
  protection: Protection;
  resolve: (raw: Buffer) => void;
  reject: (err: Error) => void;
  settled: Promise<Buffer>;
}

interface Thread {
  worker: Worker;
  ready: Promise<void>;
  inFlight: Map<number, { resolve: (raw: Buffer) => void; reject: (err: Error) => void }>;
  idleTimer: NodeJS.Timeout | null;
}

/**
 * The thread's code: beside this file, compiled (.js) in dist/ — or, when this runs from src/
 * under the tests, the TypeScript source loaded through tsx's loader, registered first.
 */
function startThread(teamKey: string): Worker {
  const here = import.meta.url;
  const options = {
    workerData: { teamKey },
    resourceLimits: THREAD_LIMITS,
    env: threadEnv(),
  };
  if (!here.endsWith('.ts')) return new Worker(new URL('./compose-thread.js', here), options);
  const entry = JSON.stringify(new URL('./compose-thread.ts', here).href);
  return new Worker(
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${entry}); })`,
    { ...options, eval: true },
  );
}

/**
 * A small young generation for a thread whose every object lives one mail (measured #16: the
 * default young generation made a thread cost ~90 MB of RSS, 4 MB ~60).
 */
const THREAD_LIMITS = { maxYoungGenerationSizeMb: 4 };

/**
 * A pool of up to `size` compose threads (#16: the mailer's OpenPGP and MIME work on the other
 * core). Each thread gets the unlocked team key once, as it starts; mail waits in the pool's own
 * queue (urgent before background) and goes to the thread with the fewest mails in hand (at most
 * PER_THREAD), a new thread starts while every running one is full and the pool is not, and a
 * thread with nothing to do for `idleMs` ends, so an idle service carries none.
 * A thread that dies fails only the mails it held, with ComposerUnavailable (transient: retried).
 */
export function createComposePool(
  team: TeamKey,
  opts: { size: number; idleMs: number; log: Logger; timeoutMs?: number; fallback?: Composer },
): ComposePool {
  // Threads that could not start in a row; at START_FAILURES the pool composes on the caller's
  // thread through `fallback` from then on (one error logged): mail goes out either way.
  let startFailures = 0;
  let degraded = false;
  // A mail that takes a thread longer than this (a loop in a library, a huge text) retires the
  // thread: its mails fail as retryable and the others go on with a new one (review of #16).
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const threads = new Set<Thread>();
  let nextId = 1;
  let closed = false;
  const teamKey = team.key.armor();

  function retire(t: Thread, why: string): void {
    if (!threads.delete(t)) return;
    if (t.idleTimer !== null) clearTimeout(t.idleTimer);
    for (const p of t.inFlight.values()) p.reject(new ComposerUnavailable(why));
    t.inFlight.clear();
    void t.worker.terminate();
    if (!closed) dispatch();
  }

  function idleLater(t: Thread): void {
    if (t.idleTimer !== null) clearTimeout(t.idleTimer);
    t.idleTimer = null;
    if (t.inFlight.size > 0) return;
    t.idleTimer = setTimeout(() => {
      if (t.inFlight.size === 0) retire(t, 'the compose thread ended (idle)');
    }, opts.idleMs);
    t.idleTimer.unref();
  }

  function spawn(): Thread {
    const worker = startThread(teamKey);
    const t: Thread = { worker, ready: Promise.resolve(), inFlight: new Map(), idleTimer: null };
    t.ready = new Promise<void>((resolve, reject) => {
      worker.once('message', () => {
        startFailures = 0;
        resolve();
      });
      worker.once('error', reject);
      worker.once('exit', () =>
        reject(new ComposerUnavailable('the compose thread ended before it was ready')),
      );
    });
    t.ready.catch(() => undefined);
    worker.on('message', (m: ComposeReply | { ready: true }) => {
      if (!('id' in m)) return;
      const p = t.inFlight.get(m.id);
      if (p === undefined) return;
      t.inFlight.delete(m.id);
      if (m.ok) p.resolve(Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.byteLength));
      else {
        const err =
          m.error.code === null
            ? Object.assign(new Error(m.error.message), { name: m.error.name })
            : new PsirtError(m.error.code, m.error.message);
        p.reject(err);
      }
      idleLater(t);
      dispatch();
    });
    worker.on('error', (err) => {
      // Names the failure only: the thread holds mail text and the team key, never logged.
      opts.log.error({ event: 'outbox.compose-thread-failed', err: err.name }, 'a compose thread failed');
      retire(t, 'the compose thread failed');
    });
    worker.on('exit', () => retire(t, 'the compose thread ended'));
    threads.add(t);
    return t;
  }

  /** Mails waiting for a thread: the urgent ones (acknowledgments, alerts) first. */
  const waiting: { urgent: Waiting[]; background: Waiting[] } = { urgent: [], background: [] };

  /**
   * Hands waiting mail to threads with room (at most PER_THREAD each, so a thread never idles
   * while the next mail crosses the port), urgent mail first; starts a thread while mail waits,
   * every running one is full and the pool is not.
   */
  function dispatch(): void {
    for (;;) {
      const next = waiting.urgent[0] ?? waiting.background[0];
      if (next === undefined) return;
      let t: Thread | null = null;
      for (const c of threads)
        if (c.inFlight.size < PER_THREAD && (t === null || c.inFlight.size < t.inFlight.size)) t = c;
      if (t === null) {
        if (threads.size >= opts.size) return;
        t = spawn();
      }
      (waiting.urgent[0] === next ? waiting.urgent : waiting.background).shift();
      send(t, next);
    }
  }

  function send(t: Thread, w: Waiting): void {
    const id = nextId++;
    t.inFlight.set(id, { resolve: w.resolve, reject: w.reject });
    if (t.idleTimer !== null) clearTimeout(t.idleTimer);
    t.idleTimer = null;
    t.ready.then(
      () => {
        if (!t.inFlight.has(id)) return; // retired meanwhile
        const req: ComposeRequest = { id, mail: w.mail, protection: w.protection };
        t.worker.postMessage(req);
        const timer = setTimeout(() => {
          if (!t.inFlight.has(id)) return;
          opts.log.error(
            { event: 'outbox.compose-timeout', ms: timeoutMs },
            'a compose thread did not answer',
          );
          retire(t, `the compose thread did not answer in ${String(timeoutMs)} ms`);
        }, timeoutMs);
        timer.unref();
        w.settled.finally(() => clearTimeout(timer)).catch(() => undefined);
      },
      (err: unknown) => {
        startFailures += 1;
        if (startFailures >= START_FAILURES && opts.fallback !== undefined && !degraded) {
          degraded = true;
          opts.log.error(
            {
              event: 'outbox.compose-threads-unavailable',
              err: err instanceof Error ? err.name : typeof err,
            },
            'compose threads do not start: mail is composed on the main thread',
          );
        }
        retire(t, 'the compose thread could not start');
      },
    );
  }

  return {
    compose(mail, protection, o) {
      if (closed) return Promise.reject(new ComposerUnavailable('the compose pool is closed'));
      if (degraded && opts.fallback !== undefined) return opts.fallback(mail, protection, o);
      let resolve!: (raw: Buffer) => void;
      let reject!: (err: Error) => void;
      const settled = new Promise<Buffer>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      (o?.background === true ? waiting.background : waiting.urgent).push({
        mail,
        protection,
        resolve,
        reject,
        settled,
      });
      // Rejected by close() or a dying thread maybe before the caller attached its handler.
      settled.catch(() => undefined);
      dispatch();
      return settled;
    },
    threads: () => threads.size,
    async close() {
      closed = true;
      for (const w of [...waiting.urgent.splice(0), ...waiting.background.splice(0)])
        w.reject(new ComposerUnavailable('the compose pool is closed'));
      const all = [...threads];
      for (const t of all) retire(t, 'the compose pool is closed');
      await Promise.all(all.map((t) => t.worker.terminate()));
    },
  };
}
