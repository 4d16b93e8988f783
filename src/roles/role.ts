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
