import type { Config } from './config/schema.js';
import type { Clock } from './core/clock.js';
import type { Logger } from './core/log.js';
import type { Db } from './cases/db.js';

/** What every role gets from the composition root. */
export interface RoleDeps {
  config: Config;
  db: Db;
  clock: Clock;
  log: Logger;
}

/** A running role; `stop()` releases what it holds and resolves when it is quiet. */
export interface RunningRole {
  name: string;
  stop(): Promise<void>;
}

/** The intake role: IMAP → decode → classify → case → outbox. Built in issue #3. */
export function startIntake(deps: RoleDeps): RunningRole {
  deps.log.warn({ event: 'intake.not-built' }, 'intake role is not built yet (issue #3); it reads no mail');
  return { name: 'intake', stop: () => Promise.resolve() };
}
