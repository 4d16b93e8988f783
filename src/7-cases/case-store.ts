import type { Calendar } from '../calendar/calendar.js';
import type { Classification, ThreadIndex } from '../4-classify/classify.js';
import type { Config } from '../config/schema.js';
import type { CaseIdFormat } from '../core/case-id.js';
import type { Clock } from '../core/clock.js';
import type { DecodedMessage } from '../2-decode/types.js';
import type { Db } from './db.js';
import type { StaffMailInput } from '../6-commands/prepare.js';
import type { CaseFlag } from '../core/flags.js';
import type { Vault } from '../core/vault.js';

export interface ApplyDeps {
  db: Db;
  clock: Clock;
  config: Config;
  caseIdFormat: CaseIdFormat;
  calendar: Calendar;
  /** Seals the real subject of a new case (#13). */
  vault: Vault;
  /**
   * Importing old mail as history (issue #15): `clock` is the mail's original date, no outbox
   * row is written (no acknowledgment, notification or answer), a case it opens and its
   * deadlines are marked historical (never escalated), and the import's counters move.
   */
  historical?: { adoptionId: number };
}

/** What the intake knows about one stored message when it applies it. */
export interface ApplyInput {
  messageRowId: number;
  /** Null when the mail could not be parsed at all. */
  decoded: DecodedMessage | null;
  /** Sender and subject from a raw header scan, used when `decoded` is null. */
  fallback: { sender: string | null; messageId: string | null };
  classification: Classification;
  flags: CaseFlag[];
  /** For a staff mail: its authentication and commands, worked out before the transaction. */
  staff?: StaffMailInput;
}

export interface ApplyResult {
  caseId: string | null;
  outboxIds: number[];
  /**
   * The subset nobody waits for (staff notifications, assignment notices): queued behind the
   * acknowledgments and answers so a burst of reports does not delay the first reply.
   */
  backgroundOutboxIds: number[];
  quarantine: boolean;
}

/** Lookups for `classify()`: which case each referenced Message-ID and subject tag belongs to. */
export function loadThreadIndex(
  db: Db,
  q: {
    messageRowId: number;
    messageId: string | null;
    threadIds: string[];
    tags: string[];
    bouncedMessageId: string | null;
  },
): ThreadIndex {
  const caseByMessageId = new Map<string, string>();
  // A purged case (#13) is no thread any more: mail pointing at it opens a new case, related to it.
  const purgedCases = new Set<string>();
  const byInbound = db.prepare(
    `SELECT m.case_id, c.purged_at FROM messages m JOIN cases c ON c.id = m.case_id
     WHERE m.message_id = ? LIMIT 1`,
  );
  const byOutbound = db.prepare(
    'SELECT o.case_id, c.purged_at FROM outbox o JOIN cases c ON c.id = o.case_id WHERE o.message_id = ?',
  );
  for (const id of q.threadIds) {
    const hit = (byInbound.get(id) ?? byOutbound.get(id)) as
      { case_id: string; purged_at: string | null } | undefined;
    if (hit !== undefined && hit.purged_at !== null) purgedCases.add(hit.case_id);
    else if (hit) caseByMessageId.set(id, hit.case_id);
  }
  const participantsByCase = new Map<string, string[]>();
  for (const tag of q.tags) {
    const c = db.prepare('SELECT reporter_address, purged_at FROM cases WHERE id = ?').get(tag) as
      { reporter_address: string; purged_at: string | null } | undefined;
    if (!c) continue;
    if (c.purged_at !== null) {
      purgedCases.add(tag);
      continue;
    }
    const senders = db
      .prepare(
        "SELECT DISTINCT sender FROM messages WHERE case_id = ? AND sender IS NOT NULL AND state = 'applied'",
      )
      .all(tag) as { sender: string }[];
    participantsByCase.set(tag, [c.reporter_address, ...senders.map((s) => s.sender)]);
  }
  const same =
    q.messageId === null
      ? undefined
      : (db
          .prepare(
            'SELECT id, case_id FROM messages WHERE message_id = ? AND id <> ? AND state <> ? ORDER BY id LIMIT 1',
          )
          .get(q.messageId, q.messageRowId, 'received') as
          { id: number; case_id: string | null } | undefined);
  const bounced =
    q.bouncedMessageId === null
      ? undefined
      : (db
          .prepare(
            `SELECT o.id, o.case_id FROM outbox o LEFT JOIN cases c ON c.id = o.case_id
             WHERE o.message_id = ? AND c.purged_at IS NULL`,
          )
          .get(q.bouncedMessageId) as { id: number; case_id: string | null } | undefined);
  return {
    caseByMessageId,
    participantsByCase,
    sameMessageId: same ? { messageRowId: same.id, caseId: same.case_id } : null,
    bouncedOutbox: bounced ? { outboxId: bounced.id, caseId: bounced.case_id } : null,
    purgedCases,
  };
}

/** The pinned public key of a reporter, if any (never a `changed` one). */
export function pinnedKey(db: Db, address: string): { fingerprint: string; armored: string } | null {
  const row = db
    .prepare(
      "SELECT fingerprint, armored FROM reporter_keys WHERE address = ? AND status = 'pinned' ORDER BY id LIMIT 1",
    )
    .get(address.toLowerCase()) as { fingerprint: string; armored: string } | undefined;
  return row ?? null;
}
