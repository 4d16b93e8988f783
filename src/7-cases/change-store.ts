import type { CaseState } from '../6-commands/plan.js';
import type { Config } from '../config/schema.js';
import type { Vault } from '../core/vault.js';
import { sealAdvisory, writeAdvisoryVersion } from './advisory-store.js';
import { mintMessageId } from '../core/message-id.js';
import { mailDomain } from './addresses.js';
import type { Db } from './db.js';
import { writeAcknowledge, writeDeadlineSync } from './deadline-store.js';
import { appendEvent } from './events.js';
import { sealSubject } from './sealed-subject.js';
import type { CaseChange, CaseOnlyChange, PlannedOutbox } from './rules/change.js';
import type { KeyPins } from './rules/keys.js';
import { threadOf } from './rules/thread.js';

/** Outbox kinds nobody is waiting on. */
/** Mail nobody waits for: queued, and composed (#16), after every other kind. */
export const BACKGROUND_KINDS: ReadonlySet<string> = new Set(['staff-notification', 'assignment']);

export interface WrittenOutbox {
  outboxIds: number[];
  /** The subset nobody waits for (staff notifications, assignment notices). */
  backgroundOutboxIds: number[];
}

/**
 * Writes one mail's change inside the caller's IMMEDIATE transaction: the case, its links, keys
 * and signature, the events in order, the deadline effect, the outbox rows in order (their
 * Message-IDs minted here), and the message's verdict. Returns the outbox rows written. The real
 * subject of a new case is written only sealed (#13).
 */
export function writeChange(db: Db, config: Config, vault: Vault, change: CaseChange): WrittenOutbox {
  const at = change.at;
  if (change.newCase !== null) {
    const c = change.newCase;
    db.prepare(
      `INSERT INTO cases (id, year, seq, reporter_address, reporter_name, subject, subject_sealed, flags, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      c.id,
      c.year,
      c.seq,
      c.reporterAddress,
      c.reporterName,
      c.subject,
      sealSubject(vault, c.sealedSubject),
      JSON.stringify(c.flags),
      at,
      at,
    );
  }
  if (change.signature !== null) {
    const s = change.signature;
    db.prepare(
      'INSERT INTO command_signatures (digest, method, staff, message_row, used_at) VALUES (?, ?, ?, ?, ?)',
    ).run(s.digest, s.method, s.staff, change.message.rowId, at);
  }
  if (change.keys !== null) writeKeys(db, change.keys.address, change.keys.pins, change.message.rowId, at);
  if (change.bounce !== null) {
    db.prepare('UPDATE outbox SET last_error = ? WHERE id = ?').run(
      change.bounce.error,
      change.bounce.outboxId,
    );
  }
  const written = writeCaseChange(db, config, change);
  if (change.caseWrites?.advisory !== undefined) {
    db.prepare('UPDATE cases SET advisory_sealed = ? WHERE id = ?').run(
      sealAdvisory(vault, change.caseWrites.advisory),
      change.caseWrites.id,
    );
  }
  for (const v of change.versions) writeAdvisoryVersion(db, vault, v, at);
  for (const n of change.customerNotices) {
    const outbox = db.prepare('SELECT id FROM outbox WHERE dedupe_key = ?').get(n.dedupeKey) as
      { id: number } | undefined;
    db.prepare(
      `INSERT INTO customer_notifications (case_id, customer, address, revision, encrypted, queued_at, queued_by, outbox_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(n.caseId, n.customer, n.address, n.revision, n.encrypted ? 1 : 0, at, n.by, outbox?.id ?? null);
  }
  const m = change.message;
  db.prepare(
    'UPDATE messages SET state = ?, case_id = ?, failure = ?, sender = ?, verdict = ? WHERE id = ?',
  ).run('applied', m.caseId, m.failure, m.sender, m.verdict, m.rowId);
  return written;
}

/**
 * What a change does to a stored case, inside the caller's IMMEDIATE transaction: the case
 * columns, its links, the events in order, the deadline effect and the outbox rows. The one
 * writer of a mail's change (writeChange) and of a CLI command's (`psirt hold`, issue #13).
 */
export function writeCaseChange(db: Db, config: Config, change: CaseOnlyChange): WrittenOutbox {
  const at = change.at;
  writeCase(db, change.caseWrites, at);
  for (const l of change.links) {
    db.prepare(
      'INSERT OR IGNORE INTO case_links (case_id, other_id, kind, created_at) VALUES (?, ?, ?, ?)',
    ).run(l.caseId, l.otherId, l.kind, at);
  }
  // One instant for the whole change: the deadlines were derived from these events at `at`.
  const clock = { now: () => new Date(at) };
  for (const e of change.events) appendEvent(db, clock, e);
  if (change.acknowledge !== null) writeAcknowledge(db, change.acknowledge, at);
  if (change.deadlines !== null) writeDeadlineSync(db, change.deadlines);
  return writeOutbox(db, config, change.outbox, at);
}

function writeCase(db: Db, w: CaseChange['caseWrites'], at: string): void {
  if (w === null) return;
  if (w.clearWaiting === true) {
    db.prepare('UPDATE cases SET waiting_on_reporter = 0 WHERE id = ? AND waiting_on_reporter = 1').run(w.id);
  }
  if (w.state !== undefined) saveState(db, w.state, at);
  if (w.flags !== undefined)
    db.prepare('UPDATE cases SET flags = ? WHERE id = ?').run(JSON.stringify(w.flags), w.id);
  if (w.touch === true) db.prepare('UPDATE cases SET updated_at = ? WHERE id = ?').run(at, w.id);
  if (w.creditPreference !== undefined) {
    db.prepare('UPDATE cases SET credit_preference = ?, credit_preference_at = ? WHERE id = ?').run(
      w.creditPreference,
      at,
      w.id,
    );
  }
}

function saveState(db: Db, s: CaseState, at: string): void {
  db.prepare(
    `UPDATE cases SET stage = ?, resolution = ?, severity = ?, cvss_vector = ?, cvss_score = ?, assignee = ?,
       on_hold = ?, hold_reason = ?, held_at = ?, held_by = ?, waiting_on_reporter = ?, tags = ?, cve = ?,
       fix_by = ?, disclose_on = ?, advisory_url = ?, credit = ?, external = ?, closed_at = ?, reopened_at = ?, triaged_at = ?, verified_at = ?, fixed_at = ?,
       published_at = ?, credit_preference = ?, credit_override_reason = ?, draft_sent_at = ?,
       no_draft_reason = ?, updated_at = ?
     WHERE id = ?`,
  ).run(
    s.stage,
    s.resolution,
    s.severity,
    s.cvssVector,
    s.cvssScore,
    s.assignee,
    s.onHold ? 1 : 0,
    s.holdReason,
    s.heldAt,
    s.heldBy,
    s.waitingOnReporter ? 1 : 0,
    JSON.stringify(s.tags),
    s.cve,
    s.fixBy,
    s.discloseOn,
    s.advisoryUrl,
    s.credit,
    JSON.stringify(s.external),
    s.closedAt,
    s.reopenedAt,
    s.triagedAt,
    s.verifiedAt,
    s.fixedAt,
    s.publishedAt,
    s.creditPreference,
    s.creditOverrideReason,
    s.draftSentAt,
    s.noDraftReason,
    at,
    s.id,
  );
}

function writeKeys(db: Db, address: string, pins: KeyPins, messageRowId: number, at: string): void {
  for (const id of pins.seen)
    db.prepare('UPDATE reporter_keys SET last_seen_at = ? WHERE id = ?').run(at, id);
  for (const k of pins.inserts) {
    db.prepare(
      `INSERT INTO reporter_keys (address, fingerprint, armored, source, status, first_seen_at, last_seen_at, first_message_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(address, k.fingerprint, k.armored, k.source, k.status, at, at, messageRowId);
  }
}

/**
 * Inserts the rows in order, minting each Message-ID (invariant 3: it derives from the row). A
 * row on the reporter's thread threads after the ones of this change before it.
 */
function writeOutbox(db: Db, config: Config, rows: readonly PlannedOutbox[], at: string): WrittenOutbox {
  const out: WrittenOutbox = { outboxIds: [], backgroundOutboxIds: [] };
  const onThread: string[] = [];
  const insert = db.prepare(
    `INSERT INTO outbox (case_id, kind, dedupe_key, recipients, message_id, in_reply_to, refs, subject, payload, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
  );
  for (const o of rows) {
    const thread =
      o.reporterThread === undefined
        ? { inReplyTo: o.inReplyTo, references: o.references }
        : threadOf([...o.reporterThread, ...onThread]);
    const messageId = mintMessageId(o.caseId ?? 'psirt', o.kind, mailDomain(config));
    const info = insert.run(
      o.caseId,
      o.kind,
      o.dedupeKey,
      JSON.stringify(o.recipients),
      messageId,
      thread.inReplyTo,
      thread.references.join(' '),
      o.subject,
      JSON.stringify(o.payload),
      at,
    );
    if (info.changes === 0) continue;
    if (o.reporterThread !== undefined) onThread.push(messageId);
    out.outboxIds.push(Number(info.lastInsertRowid));
    if (BACKGROUND_KINDS.has(o.kind)) out.backgroundOutboxIds.push(Number(info.lastInsertRowid));
  }
  return out;
}
