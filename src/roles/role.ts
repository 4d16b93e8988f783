import { within } from '../core/within.js';
import type { ServiceDeps } from '../pipeline.js';

/** What every role gets from the composition root (`workers/start.ts`). */
export type RoleDeps = ServiceDeps;

/** A running role; `stop()` releases what it holds and resolves when it is quiet. */
export interface RunningRole {
  name: string;
  stop(): Promise<void>;
  /** Intake only: resolves after the next complete mailbox sync (tests, demo). */
  synced?: () => Promise<void>;
}

/** Runs `task` now and every `seconds`; the returned function stops it. `task` must not throw. */
export function repeat(task: () => Promise<void>, seconds: number): () => void {
  void task();
  const timer = setInterval(() => void task(), seconds * 1000);
  return () => clearInterval(timer);
}

/**
 * How long a stopping service waits for its roles: under systemd's TimeoutStopSec (90 s) and
 * above the longest bounded step of a role (a BullMQ worker's close, WORKER_CLOSE_MS = 60 s).
 */
export const ROLE_STOP_MS = 75_000;

/**
 * Stops every role at once and waits at most `ms` for each; returns the names of those that did
 * not stop in time (or failed to), so the service can say so and exit non-zero instead of
 * hanging until it is killed.
 */
export async function stopRoles(running: readonly RunningRole[], ms = ROLE_STOP_MS): Promise<string[]> {
  const stopped = await Promise.all(
    running.map(async (r) => {
      // Promise.resolve().then: a stop() that throws at once is that role's failure, not all of them.
      const stopping = Promise.resolve()
        .then(() => r.stop())
        .then(
          () => true,
          () => false,
        );
      const ok = await within(stopping, ms, `stopping ${r.name}`).catch(() => false);
      return ok ? null : r.name;
    }),
  );
  return stopped.filter((name): name is string => name !== null);
}
