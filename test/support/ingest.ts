import { createHash } from 'node:crypto';
import { createCalendar } from '../../src/calendar/calendar.js';
import { applyMessage } from '../../src/7-cases/apply.js';
import { loadThreadIndex, type ApplyInput } from '../../src/7-cases/case-store.js';
import type { CaseFlag } from '../../src/core/flags.js';
import type { Db } from '../../src/7-cases/db.js';
import { storeRaw } from '../../src/7-cases/intake-store.js';
import { classify } from '../../src/4-classify/classify.js';
import { subjectTags, threadIds } from '../../src/4-classify/thread.js';
import { prepareStaffMail } from '../../src/6-commands/prepare.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { parseCaseIdFormat } from '../../src/core/case-id.js';
import type { Clock } from '../../src/core/clock.js';
import type { DecodedMessage } from '../../src/2-decode/types.js';
import type { Vault } from '../../src/core/vault.js';
import { testVault } from './vault.js';

/** A clock the test moves forward. */
export interface SettableClock extends Clock {
  set(at: string | Date): void;
}

export function settableClock(at: string): SettableClock {
  let t = new Date(at);
  return {
    now: () => new Date(t.getTime()),
    set: (next) => {
      t = new Date(next);
    },
  };
}

/**
 * Runs stored mail through classify + apply the way the pipeline does (decoding is the test's
 * `DecodedMessage`), on the test profile: staff mail is authenticated and parsed first.
 */
export function ingestHarness(opts: { at?: string; config?: Config } = {}) {
  const clock = settableClock(opts.at ?? '2026-11-24T12:00:00Z');
  const config = opts.config ?? loadConfig({ env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'x' } });
  const caseIdFormat = parseCaseIdFormat(config.cases.id_format);
  const calendar = createCalendar(config.calendar);
  // Seals what the store writes (#13); the mailer deps of a test share it to open it again. A
  // test whose CLI must open the records too seals with the team key's vault (`useVault`).
  let vault: Vault = testVault();
  const deps = (db: Db) => ({ db, clock, config, caseIdFormat, calendar, vault });
  let uid = 0;

  function ingest(db: Db, d: DecodedMessage, flags: CaseFlag[] = []) {
    uid += 1;
    const raw = Buffer.from(`Message-ID: <${d.messageId ?? 'none'}>\r\n\r\n${uid}`);
    const stored = storeRaw(db, clock, vault, {
      mailbox: 'INBOX',
      uidvalidity: '1',
      uid,
      size: raw.length,
      raw,
      rawPath: null,
      sha256: createHash('sha256').update(raw).digest('hex'),
      messageId: d.messageId,
      internalDate: null,
    });
    const rowId = stored.rowId;
    const index = loadThreadIndex(db, {
      messageRowId: rowId,
      messageId: d.messageId,
      threadIds: threadIds(d),
      tags: subjectTags(d.subject, caseIdFormat.pattern),
      bouncedMessageId: d.delivery?.originalMessageId ?? null,
    });
    const classification = classify(d, index, {
      ourAddresses: ['security@psirt.test'],
      staffAddresses: config.staff.map((s) => s.address),
      caseIdPattern: caseIdFormat.pattern,
    });
    const member =
      classification.kind === 'staff'
        ? config.staff.find((s) => s.address === classification.staff)
        : undefined;
    const input: ApplyInput = {
      messageRowId: rowId,
      decoded: d,
      fallback: { sender: null, messageId: null },
      classification,
      flags,
      ...(member === undefined
        ? {}
        : {
            staff: prepareStaffMail(d, member, null, {
              config,
              now: clock.now(),
              caseIdPattern: caseIdFormat.pattern,
            }),
          }),
    };
    return { rowId, classification, result: applyMessage(deps(db), input) };
  }

  return {
    clock,
    config,
    caseIdFormat,
    calendar,
    get vault() {
      return vault;
    },
    useVault: (v: Vault): void => {
      vault = v;
    },
    deps,
    ingest,
  };
}
