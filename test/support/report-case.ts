import { createHash } from 'node:crypto';
import { createCalendar } from '../../src/calendar/calendar.js';
import { applyMessage } from '../../src/7-cases/apply.js';
import type { Db } from '../../src/7-cases/db.js';
import { storeRaw } from '../../src/7-cases/intake-store.js';
import type { Config } from '../../src/config/schema.js';
import { parseCaseIdFormat } from '../../src/core/case-id.js';
import { systemClock } from '../../src/core/clock.js';
import type { Vault } from '../../src/core/vault.js';
import { buildDecoded } from './builders.js';

/**
 * A new report from `sender` stored and applied as the intake would (its case, acknowledgment and
 * staff notifications written); returns the case id. For mailer tests that need rows to send.
 */
export function reportCase(db: Db, config: Config, vault: Vault, sender: string, messageId: string): string {
  const raw = Buffer.from(`From: ${sender}\r\nMessage-ID: <${messageId}>\r\nSubject: test\r\n\r\nbody\r\n`);
  const stored = storeRaw(db, systemClock, vault, {
    mailbox: 'INBOX',
    uidvalidity: '1',
    uid: Math.floor(Math.random() * 1e9),
    size: raw.length,
    raw,
    rawPath: null,
    sha256: createHash('sha256').update(raw).digest('hex'),
    messageId,
    internalDate: null,
  });
  const result = applyMessage(
    {
      db,
      clock: systemClock,
      config,
      caseIdFormat: parseCaseIdFormat(config.cases.id_format),
      calendar: createCalendar(config.calendar),
      vault,
    },
    {
      messageRowId: stored.rowId,
      decoded: buildDecoded({ messageId, from: { address: sender, name: null } }),
      fallback: { sender, messageId },
      classification: { kind: 'new-report', linkedTo: null },
      flags: [],
    },
  );
  if (result.caseId === null) throw new Error('the report opened no case');
  return result.caseId;
}
