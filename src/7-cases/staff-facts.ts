import type { CaseFlag } from '../core/flags.js';
import type { StaffMailInput } from '../6-commands/prepare.js';
import type { Db } from './db.js';
import type { Vault } from '../core/vault.js';
import {
  countDrafts,
  openAdvisory,
  readCustomerFacts,
  readDraftChannel,
  readRevisionHistory,
} from './advisory-store.js';
import { loadCaseRow, readDeadlineFacts } from './deadline-store.js';
import { acknowledgmentOf } from './first-contact.js';
import { reachesCommands, staffTarget, type StaffFacts } from './rules/staff-mail.js';

/** What `rules/staff-mail.ts` reads from the store for a staff mail, before any write. */

/** The reporter's thread: every Message-ID they sent on the case and every mail we sent them, oldest first. */
export function reporterThreadIds(db: Db, caseId: string, reporter: string): string[] {
  return (
    db
      .prepare(
        `SELECT message_id, at, ord FROM (
           SELECT message_id, stored_at AS at, 0 AS ord, id FROM messages
             WHERE case_id = ? AND sender = ? AND message_id IS NOT NULL AND state = 'applied'
           UNION ALL
           SELECT message_id, created_at AS at, 1 AS ord, id FROM outbox
             WHERE case_id = ? AND (kind IN ('acknowledgment', 'reporter-status', 'reporter-reply')
               OR (kind = 'embargo-reminder' AND recipients = json_array(?))))
         ORDER BY at, ord, id`,
      )
      .all(caseId, reporter, caseId, reporter) as { message_id: string }[]
  ).map((r) => r.message_id);
}

function rejectionsLastHour(db: Db, address: string, now: Date): number {
  const hourAgo = new Date(now.getTime() - 3_600_000).toISOString();
  return (
    db
      .prepare(
        "SELECT count(*) AS n FROM outbox WHERE kind = 'command-rejected' AND recipients = json_array(?) AND created_at > ?",
      )
      .get(address, hourAgo) as { n: number }
  ).n;
}

/**
 * What `rules/staff-mail.ts` reads about a staff mail (issue #4): the refusal count, the replay
 * guard, and — for a mail that reaches its commands — the case they go to.
 */
export function readStaffFacts(
  db: Db,
  vault: Vault,
  threadedCase: string | null,
  input: StaffMailInput,
  now: Date,
): StaffFacts {
  const address = input.member.address;
  const used = input.auth.ok
    ? (db.prepare('SELECT message_row FROM command_signatures WHERE digest = ?').get(input.auth.digest) as
        { message_row: number } | undefined)
    : undefined;
  const signatureUsedBy = used?.message_row ?? null;
  const caseId = staffTarget(threadedCase, input);
  return {
    rejectionsLastHour: rejectionsLastHour(db, address, now),
    signatureUsedBy,
    case:
      caseId !== null && reachesCommands(input, signatureUsedBy)
        ? readStaffCase(db, vault, caseId, input)
        : null,
  };
}

function readStaffCase(db: Db, vault: Vault, caseId: string, input: StaffMailInput): StaffFacts['case'] {
  const row = loadCaseRow(db, caseId);
  if (row === null) return null;
  const named = input.parsed.commands.flatMap((c) =>
    c.name === 'duplicate' || c.name === 'link' ? [c.caseId] : [],
  );
  const exists = db.prepare('SELECT 1 FROM cases WHERE id = ?');
  const report = db
    .prepare('SELECT id FROM messages WHERE case_id = ? AND sender = ? ORDER BY id LIMIT 1')
    .get(caseId, row.reporter_address) as { id: number } | undefined;
  const flags = (db.prepare('SELECT flags FROM cases WHERE id = ?').get(caseId) as { flags: string }).flags;
  const links = db
    .prepare(
      "SELECT other_id, created_at FROM case_links WHERE case_id = ? AND kind = 'duplicate-of' ORDER BY created_at DESC",
    )
    .all(caseId) as { other_id: string; created_at: string }[];
  return {
    row,
    flags: JSON.parse(flags) as CaseFlag[],
    acknowledgment: acknowledgmentOf(db, caseId).state,
    existingCases: new Set(named.filter((id) => exists.get(id) !== undefined)),
    reportRowId: report?.id ?? null,
    reporterThread: row.reporter_address === '' ? [] : reporterThreadIds(db, caseId, row.reporter_address),
    ...readDeadlineFacts(db, caseId),
    duplicateLinks: links.map((l) => ({ otherId: l.other_id, createdAt: l.created_at })),
    advisory: openAdvisory(vault, row.advisory_sealed),
    revisionHistory: readRevisionHistory(db, caseId),
    drafts: countDrafts(db, caseId),
    draftChannel: readDraftChannel(db, row.reporter_address, report?.id ?? null),
    customers: readCustomerFacts(db, vault, caseId),
  };
}
