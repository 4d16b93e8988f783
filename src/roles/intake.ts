import { dirname, join } from 'node:path';
import { startImapIntake } from '../1-intake/imap-poller.js';
import { createMailerQueue } from '../jobs/queues.js';
import { createPipeline } from '../pipeline.js';
import type { RoleDeps, RunningRole } from './role.js';

/** The intake role: IMAP → decode → classify → case → outbox (DESIGN.md "The flow"). */
export function startIntake(deps: RoleDeps): RunningRole {
  const mailer = createMailerQueue(deps.config.redis);
  const pipeline = createPipeline({ ...deps, mailer });
  const spoolDir = join(dirname(deps.config.database.path), 'spool');
  const intake = startImapIntake(deps.config.imap, pipeline, { spoolDir, vault: deps.vault, log: deps.log });
  return {
    name: 'intake',
    synced: () => intake.synced(),
    async stop() {
      await intake.stop();
      await mailer.close();
    },
  };
}
