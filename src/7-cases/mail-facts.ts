import type { CaseFlag } from '../core/flags.js';
import type { Config } from '../config/schema.js';
import type { CaseIdFormat } from '../core/case-id.js';
import type { DecodedMessage } from '../2-decode/types.js';
import type { Db } from './db.js';
import { loadCaseRow, readDeadlineFacts } from './deadline-store.js';
import { answeredOutbox, mailboxOf, readCorrespondent } from './first-contact.js';
import type { StoredKey } from './rules/keys.js';
import type { FollowUpFacts, NewReportFacts } from './rules/message.js';

/** What `rules/message.ts` reads from the store for a classified mail, before any write. */

function storedKeys(db: Db, sender: string): StoredKey[] {
  if (sender === '') return [];
  return db
    .prepare('SELECT id, fingerprint, status FROM reporter_keys WHERE address = ? ORDER BY id')
    .all(sender) as StoredKey[];
}

/** One year formatter per zone: building an Intl.DateTimeFormat costs more than using it (#16). */
const yearFormats = new Map<string, Intl.DateTimeFormat>();

function yearIn(zone: string, at: Date): number {
  let f = yearFormats.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en', { timeZone: zone, year: 'numeric' });
    yearFormats.set(zone, f);
  }
  return Number(f.format(at));
}

export function readFollowUp(
  db: Db,
  caseId: string,
  sender: string,
  d: DecodedMessage | null,
): FollowUpFacts {
  const caseRow = loadCaseRow(db, caseId);
  if (caseRow === null) throw new Error(`case ${caseId} is not stored`);
  const answered = answeredOutbox(db, sender, [
    ...(d?.inReplyTo ? [d.inReplyTo] : []),
    ...(d?.references ?? []),
  ]);
  return {
    caseRow,
    caseFlags: JSON.parse(caseRow.flags) as CaseFlag[],
    storedKeys: storedKeys(db, sender),
    answeredOutbox: answered,
    ...(caseRow.waiting_on_reporter === 1 ? readDeadlineFacts(db, caseId) : { deadlines: [], pauses: [] }),
    credit: {
      reporterAddress: caseRow.reporter_address.toLowerCase(),
      reporterPins: pinnedFingerprints(db, caseRow.reporter_address),
      text: d?.text ?? '',
      signature: d?.signature ?? null,
      drafts: draftMails(db, caseId),
    },
  };
}

/** The fingerprints pinned for an address (upper-case). */
function pinnedFingerprints(db: Db, address: string): string[] {
  if (address === '') return [];
  return (
    db
      .prepare("SELECT fingerprint FROM reporter_keys WHERE address = ? AND status = 'pinned'")
      .all(address.toLowerCase()) as { fingerprint: string }[]
  ).map((r) => r.fingerprint.toUpperCase());
}

/** The advisory drafts mailed on a case (issue #14): Message-ID and draft number. */
function draftMails(db: Db, caseId: string): { messageId: string; number: number }[] {
  return db
    .prepare(
      `SELECT message_id AS messageId, payload ->> '$.draft' AS number FROM outbox
       WHERE case_id = ? AND kind = 'advisory-draft'`,
    )
    .all(caseId) as { messageId: string; number: number }[];
}

export function readNewReport(
  db: Db,
  q: {
    config: Config;
    caseIdFormat: CaseIdFormat;
    sender: string;
    messageRowId: number;
    now: Date;
    decoded: DecodedMessage | null;
  },
): NewReportFacts {
  const year = q.caseIdFormat.hasYear ? yearIn(q.config.calendar.time_zone, q.now) : 0;
  const next = db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM cases WHERE year = ?').get(year) as {
    seq: number;
  };
  const hourAgo = new Date(q.now.getTime() - 3_600_000).toISOString();
  // Counted per mailbox: `user+1@`, `user+2@` and `user@` share one allowance.
  const box = mailboxOf(q.sender);
  const recent = db
    .prepare(
      `SELECT count(*) AS n FROM outbox o JOIN cases c ON c.id = o.case_id
       WHERE o.kind = 'acknowledgment' AND o.created_at > ?
         AND (c.reporter_address = ? OR c.reporter_address LIKE ? ESCAPE '\\')`,
    )
    .get(hourAgo, box.mailbox, box.tagged) as { n: number };
  return {
    year,
    seq: next.seq,
    storedKeys: storedKeys(db, q.sender),
    correspondent:
      q.sender === ''
        ? { provenPin: false, repliedToUs: false }
        : readCorrespondent(db, q.sender, q.messageRowId),
    acksLastHour: recent.n,
    signature: q.decoded?.signature ?? null,
  };
}
