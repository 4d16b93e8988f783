import { startImapIntake } from '../1-intake/imap-poller.js';
import { createMailerQueue } from '../jobs/queues.js';
import { spoolDirFor } from '../core/paths.js';
import { createPipeline } from '../pipeline.js';
import type { RoleDeps, RunningRole } from './role.js';

/** The intake role: IMAP → decode → classify → case → outbox (DESIGN.md "The flow"). */
export function startIntake(deps: RoleDeps): RunningRole {
  const mailer = createMailerQueue(deps.config.redis);
  const pipeline = createPipeline({ ...deps, mailer });
  const spoolDir = spoolDirFor(deps.config.database.path);
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
