import { Worker } from 'node:worker_threads';
import type { Composer } from '../8-outbox/compose.js';
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
  const options = { workerData: { teamKey }, resourceLimits: THREAD_LIMITS };
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
 * core). Each thread gets the unlocked team key once, as it starts; a mail goes to the thread with
 * the fewest mails in hand, a new thread starts while every running one is busy and the pool is
 * not full, and a thread with nothing to do for `idleMs` ends, so an idle service carries none.
 * A thread that dies fails only the mails it held, with ComposerUnavailable (transient: retried).
 */
export function createComposePool(
  team: TeamKey,
  opts: { size: number; idleMs: number; log: Logger; timeoutMs?: number },
): ComposePool {
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
      worker.once('message', () => resolve());
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

  function pick(): Thread {
    let best: Thread | null = null;
    for (const t of threads) if (best === null || t.inFlight.size < best.inFlight.size) best = t;
    if (best === null || (best.inFlight.size > 0 && threads.size < opts.size)) return spawn();
    return best;
  }

  return {
    async compose(mail, protection) {
      if (closed) throw new ComposerUnavailable('the compose pool is closed');
      const t = pick();
      const id = nextId++;
      const done = new Promise<Buffer>((resolve, reject) => t.inFlight.set(id, { resolve, reject }));
      // Rejected by retire() while this still waits for the thread to start: handled below.
      done.catch(() => undefined);
      if (t.idleTimer !== null) clearTimeout(t.idleTimer);
      t.idleTimer = null;
      try {
        await t.ready;
      } catch (err) {
        retire(t, 'the compose thread could not start');
        throw err instanceof ComposerUnavailable
          ? err
          : new ComposerUnavailable('the compose thread could not start');
      }
      const req: ComposeRequest = { id, mail, protection };
      t.worker.postMessage(req);
      const timer = setTimeout(() => {
        if (!t.inFlight.has(id)) return;
        opts.log.error({ event: 'outbox.compose-timeout', ms: timeoutMs }, 'a compose thread did not answer');
        retire(t, `the compose thread did not answer in ${String(timeoutMs)} ms`);
      }, timeoutMs);
      timer.unref();
      try {
        return await done;
      } finally {
        clearTimeout(timer);
      }
    },
    threads: () => threads.size,
    async close() {
      closed = true;
      const all = [...threads];
      for (const t of all) retire(t, 'the compose pool is closed');
      await Promise.all(all.map((t) => t.worker.terminate()));
    },
  };
}
