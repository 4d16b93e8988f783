import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../../src/7-cases/db.js';
import { recordChannelAlert } from '../../src/7-cases/channel-watch-store.js';
import { dueEscalations, fireEscalation } from '../../src/7-cases/deadline-store.js';
import { loadOutbox, markFailed, type OutboxRow } from '../../src/7-cases/outbox-store.js';
import { loadTeamKeys } from '../../src/pgp/keyring.js';
import { createSealer } from '../../src/pgp/sealer.js';
import type { DeliverDeps } from '../../src/8-outbox/deliver.js';
import { ReportCache } from '../../src/8-outbox/report-view.js';
import { createSmtpTransport } from '../../src/8-outbox/smtp-transport.js';
import { loadTemplates } from '../../src/8-outbox/templates.js';
import { createLogger } from '../../src/core/log.js';
import { loadConfig } from '../../src/config/load.js';
import { buildDecoded, buildSignedStaffMail, withoutKey } from './builders.js';
import { migratedDb } from './db.js';
import { ingestHarness } from './ingest.js';
import { REPO } from './stack.js';

/**
 * The test profile with only alice's key configured, as `renderDeps` loads only hers: her
 * notifications go encrypted to her alone and bob's and carol's (#16: one mail to the two of
 * them) withheld — both staff-notification variants, each in its own row.
 */
const profile = loadConfig({ env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'x' } });
const harness = ingestHarness({
  config: {
    ...profile,
    staff: profile.staff.map((s) => (s.address === 'alice@psirt.test' ? s : withoutKey(s))),
  },
});
const { clock, config, ingest } = harness;

/** A staff mail signed by the member's configured key (or unsigned), as the intake decodes it. */
function staffMail(local: string, subject: string, n: number, signed = true) {
  const member = config.staff.find((s) => s.address === `${local}@psirt.test`)!;
  const messageId = `render-staff-${n}@psirt.test`;
  const mail = {
    messageId,
    from: { address: member.address, name: local },
    subject,
    text: 'Thanks, we reproduced it.\n',
  };
  if (!signed) return buildDecoded({ ...mail, signature: { state: 'none' }, protectedHeaders: null });
  return buildSignedStaffMail(member, subject, mail, {
    messageId,
    signedAt: clock.now().toISOString(),
    digest: `${n}`.padStart(64, '0'),
  });
}

/**
 * A database holding an outbox row of every mail kind (and both acknowledgment and both
 * staff-notification variants, both channel-expiry subjects), written by the real writers in
 * src/7-cases.
 */
export function outboxOfEveryKind(): { db: Db; rows: OutboxRow[] } {
  const db = migratedDb(clock);
  const report = ingest(db, buildDecoded({ messageId: 'render-report@reporter.test' }));
  const caseId = report.result.caseId!;
  ingest(
    db,
    buildDecoded({
      messageId: 'render-unreadable@reporter.test',
      from: { address: 'reporter2@psirt.test', name: null },
    }),
    ['corrupt'],
  );
  const ack = db.prepare("SELECT message_id FROM outbox WHERE kind = 'acknowledgment' ORDER BY id").get() as {
    message_id: string;
  };
  ingest(
    db,
    buildDecoded({
      messageId: 'render-follow-up@reporter.test',
      inReplyTo: ack.message_id,
      references: [ack.message_id],
      subject: `Re: [${caseId}] XSS in the login form`,
    }),
  );
  ingest(
    db,
    staffMail('alice', `Re: [${caseId}] report /assign bob /severity high /triage /tag firmware /reply`, 1),
  );
  ingest(db, staffMail('carol', `Re: [${caseId}] report /verified`, 2, false));
  ingest(db, staffMail('alice', 'Commands /help', 3));
  const first = loadOutbox(db, Number(report.result.outboxIds[0]))!;
  markFailed(db, clock, first, '550 5.1.1 no such user', {
    recipients: ['security@psirt.test'],
    domain: 'psirt.test',
  });
  clock.set('2026-12-20T12:00:00Z');
  for (const id of dueEscalations(db, clock.now())) fireEscalation(db, clock, config, id);
  // The public-channel watch (#12): security.txt expiring ahead, the team key already expired.
  recordChannelAlert(db, clock, config, {
    subject: 'security.txt',
    expiresAt: new Date('2027-01-10T00:00:00Z'),
  });
  recordChannelAlert(db, clock, config, {
    subject: 'team-key:70391E1F60DD1FCF4E665A800F2409846A82D91C',
    expiresAt: new Date('2026-12-18T12:00:00Z'),
  });
  const ids = db.prepare('SELECT id FROM outbox ORDER BY id').all() as { id: number }[];
  return { db, rows: ids.map((r) => loadOutbox(db, r.id)!) };
}

/** The mailer's dependencies on the test profile, without SMTP (rendering only). */
export async function renderDeps(db: Db): Promise<DeliverDeps> {
  const teamKeys = await loadTeamKeys(config.pgp, clock);
  return {
    config,
    db,
    clock,
    log: createLogger('silent'),
    templates: loadTemplates(join(REPO, 'config', 'templates')),
    sealer: createSealer(teamKeys[0]!),
    // Never connects: rendering sends nothing.
    transport: createSmtpTransport(config.smtp),
    teamKeys,
    staffKeys: new Map([
      ['alice@psirt.test', readFileSync(join(REPO, 'test/fixtures/keys/alice.pub.asc'), 'utf8')],
    ]),
    calendar: harness.calendar,
    reports: new ReportCache(),
    vault: harness.vault,
  };
}
