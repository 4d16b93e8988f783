import { createCalendar } from '../../src/calendar/calendar.js';
import type { Db } from '../../src/7-cases/db.js';
import type { Config } from '../../src/config/schema.js';
import { parseCaseIdFormat } from '../../src/core/case-id.js';
import type { Clock } from '../../src/core/clock.js';
import { createLogger } from '../../src/core/log.js';
import type { Vault } from '../../src/core/vault.js';
import type { IntakeHandlers } from '../../src/1-intake/imap-poller.js';
import type { MailerQueue } from '../../src/jobs/queues.js';
import { ReportCache } from '../../src/8-outbox/report-view.js';
import { createPipeline } from '../../src/pipeline.js';
import { teamKey } from './mail-fixtures.js';
import { serviceVault } from './vault.js';

/**
 * The intake pipeline as `psirt start` builds it, on a test database and mailer queue: the test
 * team key, no staff keys, a vault of the database. `beforeDecode` is the fault-injection hook.
 */
export async function testPipeline(
  config: Config,
  db: Db,
  clock: Clock,
  mailer: MailerQueue,
  opts: { beforeDecode?: (raw: Buffer) => void } = {},
): Promise<{ pipeline: IntakeHandlers; vault: Vault }> {
  const vault = await serviceVault(db);
  const pipeline = createPipeline({
    config,
    db,
    clock,
    log: createLogger('silent'),
    teamKeys: [await teamKey()],
    staffKeys: new Map(),
    calendar: createCalendar(config.calendar),
    caseIdFormat: parseCaseIdFormat(config.cases.id_format),
    reports: new ReportCache(),
    vault,
    mailer,
    ...(opts.beforeDecode === undefined ? {} : { beforeDecode: opts.beforeDecode }),
  });
  return { pipeline, vault };
}
