import { startImapIntake } from '../1-intake/imap-poller.js';
import { createMailerQueue } from '../jobs/queues.js';
import { spoolDirFor } from '../core/paths.js';
import { createPipeline } from '../pipeline.js';
import { sealBacklog } from '../7-cases/seal-backlog.js';
import type { RoleDeps, RunningRole } from './role.js';

/** The intake role: IMAP → decode → classify → case → outbox (DESIGN.md "The flow"). */
export function startIntake(deps: RoleDeps): RunningRole {
  const mailer = createMailerQueue(deps.config.redis, deps.config.mailer);
  const pipeline = createPipeline({ ...deps, mailer });
  const spoolDir = spoolDirFor(deps.config.database.path);
  // #13: what a version before sealing stored in clear is sealed before any new mail is fetched.
  sealAtStart(deps, spoolDir);
  const observer = deps.metrics?.intake;
  const tokens = deps.tokens ?? null;
  const oauth2 =
    deps.config.imap.auth === 'oauth2' && tokens !== null
      ? { tokens, mechanism: deps.config.oauth2.mechanism }
      : null;
  const intake = startImapIntake(deps.config.imap, pipeline, {
    spoolDir,
    vault: deps.vault,
    log: deps.log,
    ...(observer === undefined
      ? {}
      : { onConnection: (up: boolean) => observer.imapConnected(up), onSynced: () => observer.synced() }),
    oauth2,
  });
  return {
    name: 'intake',
    synced: () => intake.synced(),
    async stop() {
      await intake.stop();
      await mailer.close();
    },
  };
}

/** Seals the backlog of a database written before #13 (src/7-cases/seal-backlog.ts); logs counts only. */
function sealAtStart(deps: RoleDeps, spoolDir: string): void {
  if (deps.vault.currentKeyId === null) return;
  let last = 0;
  const { sealed, walTruncated } = sealBacklog(deps.db, deps.vault, {
    spoolDir,
    caseIdPattern: deps.caseIdFormat.pattern,
    onProgress: (p) => {
      if (p.done === p.total || p.done - last >= 1000) {
        last = p.done === p.total ? 0 : p.done;
        deps.log.info({ event: 'seal.backlog-progress', ...p }, 'sealing records stored in clear');
      }
    },
  });
  const total = sealed.raw + sealed.spool + sealed.subjects + sealed.outbox;
  if (total > 0)
    deps.log.info(
      { event: 'seal.backlog-sealed', ...sealed, walTruncated },
      'records stored in clear are sealed',
    );
}
