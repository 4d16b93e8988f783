import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createCalendar } from '../../../src/calendar/calendar.js';
import { openDatabase, type Db } from '../../../src/7-cases/db.js';
import { createGroupCommit } from '../../../src/7-cases/group-commit.js';
import { loadConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { systemClock } from '../../../src/core/clock.js';
import { createLogger } from '../../../src/core/log.js';
import { deliverOutbox, type DeliverDeps } from '../../../src/8-outbox/deliver.js';
import { ReportCache } from '../../../src/8-outbox/report-view.js';
import { createSmtpTransport, type SmtpTransport } from '../../../src/8-outbox/smtp-transport.js';
import { loadTemplates } from '../../../src/8-outbox/templates.js';
import { loadTeamKeys, type TeamKey } from '../../../src/pgp/keyring.js';
import { createSealer } from '../../../src/pgp/sealer.js';
import { migratedDb, tempDbPath } from '../../support/db.js';
import { eventually } from '../../support/eventually.js';
import { repliesTo } from '../../support/service.js';
import { REPO, stackEnv } from '../../support/stack.js';
import { testVault } from '../../support/vault.js';
import { reportCase } from '../../support/report-case.js';

const stack = inject('stack');
let config: Config;
let teamKeys: TeamKey[];
const vault = testVault();

beforeAll(async () => {
  config = loadConfig({ env: stackEnv(stack) });
  teamKeys = await loadTeamKeys(config.pgp, systemClock);
});

/** A new case from `sender`; returns its outbox rows (acknowledgment, staff notifications). */
function caseFrom(db: Db, sender: string, messageId: string): number[] {
  const caseId = reportCase(db, config, vault, sender, messageId);
  return (
    db.prepare('SELECT id FROM outbox WHERE case_id = ? ORDER BY id').all(caseId) as { id: number }[]
  ).map((r) => r.id);
}

/**
 * The real transport, watched: before each submission it reads the row's state through a second
 * connection, which sees only what is committed.
 */
function watchedTransport(observer: Db, seen: { id: number; state: string }[]): SmtpTransport {
  const transport = createSmtpTransport(config.smtp);
  const send = transport.sendMail.bind(transport);
  const byMessageId = observer.prepare('SELECT id, state FROM outbox WHERE message_id = ?');
  transport.sendMail = (mail: Parameters<typeof send>[0]) => {
    const raw = Buffer.isBuffer(mail.raw) ? mail.raw.toString('utf8') : '';
    const messageId = /^Message-ID: *<([^>\r\n]+)>/im.exec(raw)?.[1] ?? '';
    const row = byMessageId.get(messageId) as { id: number; state: string } | undefined;
    seen.push(row ?? { id: -1, state: 'not found' });
    return send(mail);
  };
  return transport;
}

function deps(db: Db, transport: SmtpTransport, writes: DeliverDeps['writes']): DeliverDeps {
  return {
    config,
    db,
    clock: systemClock,
    log: createLogger('silent'),
    templates: loadTemplates(join(REPO, 'config', 'templates')),
    sealer: createSealer(teamKeys[0] as TeamKey),
    transport,
    teamKeys,
    staffKeys: new Map(),
    calendar: createCalendar(config.calendar),
    reports: new ReportCache(),
    vault,
    ...(writes === undefined ? {} : { writes }),
  };
}

describe('deliverOutbox() with a group committer (#16), through the real Postfix', () => {
  it('sends concurrent jobs with shared commits, each row claimed (committed) before its SMTP submission', async () => {
    const path = tempDbPath();
    const db = migratedDb(systemClock, path);
    const observer = openDatabase(path, { readonly: true });
    const run = `${Date.now()}.group`;
    const rows = ['reporter1', 'reporter2'].flatMap((r) =>
      caseFrom(db, `${r}@psirt.test`, `${run}-${r}@reporter.test`),
    );
    const n = rows.length;
    expect(n).toBeGreaterThanOrEqual(4);
    const sizes: number[] = [];
    const writes = createGroupCommit(db, { onCommit: (n) => sizes.push(n) });
    const seen: { id: number; state: string }[] = [];
    const d = deps(db, watchedTransport(observer, seen), writes);
    try {
      expect(await Promise.all(rows.map((id) => deliverOutbox(d, id)))).toEqual(rows.map(() => []));
    } finally {
      d.transport.close();
    }
    // The claims of one tick went in one commit; every submission saw its row committed as
    // claimed; n claims and n marks took fewer than 2n commits.
    expect(sizes[0]).toBe(n);
    expect(seen.map((s) => s.id).sort((a, b) => a - b)).toEqual(rows);
    expect(seen.every((s) => s.state === 'sending')).toBe(true);
    expect(writes.stats()).toMatchObject({ functions: 2 * n });
    expect(writes.stats().commits).toBeLessThan(2 * n);
    const states = observer
      .prepare(`SELECT state, attempts FROM outbox WHERE id IN (${rows.join(',')})`)
      .all() as { state: string; attempts: number }[];
    observer.close();
    expect(states).toEqual(rows.map(() => ({ state: 'sent', attempts: 1 })));
    expect(db.prepare("SELECT count(*) AS n FROM events WHERE type = 'outbox.sent'").get()).toEqual({ n });
    await eventually(
      async () =>
        (await repliesTo(stack, 'reporter2', `${run}-reporter2@reporter.test`)).length > 0 ? true : undefined,
      {
        what: 'the last acknowledgment',
      },
    );
  });

  it('sends a row once when its job runs twice at the same time (a duplicate job does nothing)', async () => {
    const path = tempDbPath();
    const db = migratedDb(systemClock, path);
    const observer = openDatabase(path, { readonly: true });
    const [ack = 0] = caseFrom(db, 'reporter3@psirt.test', `${Date.now()}.twice@reporter.test`);
    const seen: { id: number; state: string }[] = [];
    const d = deps(db, watchedTransport(observer, seen), createGroupCommit(db));
    try {
      await Promise.all([deliverOutbox(d, ack), deliverOutbox(d, ack)]);
    } finally {
      d.transport.close();
      observer.close();
    }
    expect(seen).toEqual([{ id: ack, state: 'sending' }]);
    expect(db.prepare('SELECT state, attempts FROM outbox WHERE id = ?').get(ack)).toEqual({
      state: 'sent',
      attempts: 1,
    });
  });
});
