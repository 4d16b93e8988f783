import { randomBytes } from 'node:crypto';
import type { Calendar } from '../calendar/calendar.js';
import type { Classification, ThreadIndex } from '../classify/classify.js';
import type { Config } from '../config/schema.js';
import { mailDomain } from './addresses.js';
import type { CaseIdFormat } from '../core/case-id.js';
import type { Clock } from '../core/clock.js';
import { UNREADABLE_FLAGS, type CaseFlag } from '../core/flags.js';
import type { DecodedMessage, FoundKey } from '../decode/types.js';
import { policyOf } from '../policy/deadlines.js';
import type { Db } from './db.js';
import type { StaffMailInput } from '../commands/prepare.js';
import { applyStaffMail, type NewOutboxRow } from './command-store.js';
import { syncDeadlines } from './deadline-store.js';
import { appendEvent } from './events.js';
import {
  answeredOutbox,
  knownCorrespondent,
  mailboxOf,
  REPLIED_TO_US,
  type AckHeld,
  type KnownBy,
} from './first-contact.js';
import { isProtectedReport, PROTECTED_SUBJECT, replySubject, sanitizeSubject } from './subject.js';

/** Outbox kinds nobody is waiting on. */
const BACKGROUND_KINDS: ReadonlySet<string> = new Set(['staff-notification', 'assignment']);

export interface ApplyDeps {
  db: Db;
  clock: Clock;
  config: Config;
  caseIdFormat: CaseIdFormat;
  calendar: Calendar;
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
  const byInbound = db.prepare(
    'SELECT case_id FROM messages WHERE message_id = ? AND case_id IS NOT NULL LIMIT 1',
  );
  const byOutbound = db.prepare('SELECT case_id FROM outbox WHERE message_id = ? AND case_id IS NOT NULL');
  for (const id of q.threadIds) {
    const hit = (byInbound.get(id) ?? byOutbound.get(id)) as { case_id: string } | undefined;
    if (hit) caseByMessageId.set(id, hit.case_id);
  }
  const participantsByCase = new Map<string, string[]>();
  for (const tag of q.tags) {
    const c = db.prepare('SELECT reporter_address FROM cases WHERE id = ?').get(tag) as
      { reporter_address: string } | undefined;
    if (!c) continue;
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
      : (db.prepare('SELECT id, case_id FROM outbox WHERE message_id = ?').get(q.bouncedMessageId) as
          { id: number; case_id: string | null } | undefined);
  return {
    caseByMessageId,
    participantsByCase,
    sameMessageId: same ? { messageRowId: same.id, caseId: same.case_id } : null,
    bouncedOutbox: bounced ? { outboxId: bounced.id, caseId: bounced.case_id } : null,
  };
}

/** A Message-ID we mint: case, kind, and a random token so it cannot be guessed to inject a reply. */
export function mintMessageId(caseId: string, kind: string, domain: string): string {
  return `${caseId.toLowerCase()}.${kind}.${randomBytes(6).toString('hex')}@${domain}`;
}

function yearIn(zone: string, at: Date): number {
  return Number(new Intl.DateTimeFormat('en', { timeZone: zone, year: 'numeric' }).format(at));
}

/**
 * Step (d) of the flow: applies a classified message in one IMMEDIATE transaction — case, events,
 * deadlines, outbox rows and the message state change together, or not at all (invariants 2, 3, 7).
 * Idempotent: a message already applied returns what it produced without writing again.
 */
export function applyMessage(deps: ApplyDeps, input: ApplyInput): ApplyResult {
  const { db, clock, config } = deps;
  return db
    .transaction((): ApplyResult => {
      const row = db
        .prepare('SELECT state, case_id, failure FROM messages WHERE id = ?')
        .get(input.messageRowId) as
        { state: string; case_id: string | null; failure: string | null } | undefined;
      if (!row) throw new Error(`message ${input.messageRowId} is not stored`);
      if (row.state !== 'received') {
        const ids = (
          db
            .prepare('SELECT id FROM outbox WHERE payload ->> ? = ?')
            .all('$.messageRowId', input.messageRowId) as {
            id: number;
          }[]
        ).map((r) => r.id);
        return {
          caseId: row.case_id,
          outboxIds: ids,
          backgroundOutboxIds: [],
          quarantine: row.failure !== null,
        };
      }
      const now = clock.now();
      const at = now.toISOString();
      const d = input.decoded;
      const sender = (d?.from?.address ?? input.fallback.sender ?? '').toLowerCase();
      const messageId = d?.messageId ?? input.fallback.messageId;
      // A report that came encrypted or with protected headers keeps its subject inside the
      // stored mail: everything written in clear (case row, outbox rows) shows PROTECTED_SUBJECT.
      // So does mail that could not be decoded (corrupt, oversize, processing failed): nothing
      // says it was not encrypted, and its outer Subject may be the real one (#10 review).
      const subject = d === null || isProtectedReport(d) ? PROTECTED_SUBJECT : d.subject;
      const flags = [...new Set(input.flags)];
      const quarantine = flags.some((f) => UNREADABLE_FLAGS.has(f));
      const outboxIds: number[] = [];
      const backgroundOutboxIds: number[] = [];
      const c = input.classification;
      // From: is not proof: a staff address is "unverified" until applyStaffMail authenticates it.
      const staffAddress = config.staff.some((m) => m.address.toLowerCase() === sender);
      const actor = sender === '' ? 'unknown' : staffAddress ? `unverified:${sender}` : `reporter:${sender}`;
      const ev = (
        caseId: string | null,
        type: string,
        data: Record<string, unknown> = {},
        who: { actor: string; auth: string | null } = { actor, auth: null },
      ): void => {
        appendEvent(db, clock, {
          caseId,
          type,
          actor: who.actor,
          auth: who.auth,
          messageId,
          data: { messageRowId: input.messageRowId, ...data },
        });
      };
      const addOutbox = (o: NewOutboxRow): void => {
        const info = db
          .prepare(
            `INSERT INTO outbox (case_id, kind, dedupe_key, recipients, message_id, in_reply_to, refs, subject, payload, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
          )
          .run(
            o.caseId,
            o.kind,
            o.dedupeKey,
            JSON.stringify(o.recipients),
            mintMessageId(o.caseId ?? 'psirt', o.kind, mailDomain(config)),
            o.inReplyTo,
            o.references.join(' '),
            o.subject,
            JSON.stringify(o.payload),
            at,
          );
        if (info.changes > 0) {
          outboxIds.push(Number(info.lastInsertRowid));
          if (BACKGROUND_KINDS.has(o.kind)) backgroundOutboxIds.push(Number(info.lastInsertRowid));
        }
      };
      const notifyStaff = (
        caseId: string,
        event: 'new-report' | 'follow-up',
        opts: { about?: string; ackHeld?: AckHeld | undefined } = {},
      ): void => {
        const about = opts.about ?? subject;
        const ackHeld = opts.ackHeld;
        // Threaded per case: a staff reply's In-Reply-To points at this row's Message-ID.
        for (const s of config.staff) {
          addOutbox({
            caseId,
            kind: 'staff-notification',
            dedupeKey: `notify:${input.messageRowId}:${s.address.toLowerCase()}`,
            recipients: [s.address.toLowerCase()],
            inReplyTo: null,
            references: [],
            subject: sanitizeSubject(
              `[${caseId}] ${event === 'new-report' ? 'New report' : 'Follow-up'}: ${about}`,
            ),
            payload: {
              template: 'staff-notification',
              messageRowId: input.messageRowId,
              autoSubmitted: 'auto-generated',
              event,
              flags,
              ...(ackHeld ? { ackHeld } : {}),
            },
          });
        }
        ev(caseId, 'staff.notified', { event, staff: config.staff.length });
      };
      const finish = (caseId: string | null, state: 'applied', failure: string | null): ApplyResult => {
        db.prepare(
          'UPDATE messages SET state = ?, case_id = ?, failure = ?, sender = ?, verdict = ? WHERE id = ?',
        ).run(
          state,
          caseId,
          failure,
          sender === '' ? null : sender,
          d ? JSON.stringify({ encryption: d.encryption, signature: d.signature }) : null,
          input.messageRowId,
        );
        return { caseId, outboxIds, backgroundOutboxIds, quarantine };
      };
      const cancelAcknowledge = (caseId: string): void => {
        db.prepare(
          "UPDATE deadlines SET state = 'cancelled', updated_at = ? WHERE case_id = ? AND kind = 'acknowledge' AND state = 'open'",
        ).run(at, caseId);
        syncDeadlines(db, caseId, config, deps.calendar, at);
      };
      const failure = quarantine ? flags.filter((f) => UNREADABLE_FLAGS.has(f)).join(',') : null;

      switch (c.kind) {
        case 'duplicate':
          ev(c.caseId, 'message.duplicate', { of: c.of });
          return finish(c.caseId, 'applied', failure);
        case 'automated':
          if (c.bounce) {
            db.prepare('UPDATE outbox SET last_error = ? WHERE id = ?').run(
              `delivery report: ${d?.delivery?.action ?? 'unknown'} ${d?.delivery?.status ?? ''}`.trim(),
              c.bounce.outboxId,
            );
            ev(c.caseId, 'outbox.bounced', {
              outboxId: c.bounce.outboxId,
              action: d?.delivery?.action ?? null,
              status: d?.delivery?.status ?? null,
            });
          } else {
            ev(c.caseId, 'message.automated', { reason: c.reason });
          }
          return finish(c.caseId, 'applied', failure);
        case 'staff':
          if (input.staff === undefined) {
            ev(c.caseId, c.caseId === null ? 'staff.mail-unthreaded' : 'staff.mail-recorded', {
              matchedBy: c.matchedBy,
            });
          } else {
            applyStaffMail(
              {
                db,
                config,
                calendar: deps.calendar,
                caseIdPattern: deps.caseIdFormat.pattern,
                now,
                messageRowId: input.messageRowId,
                messageId,
                references: d?.references ?? [],
                subject,
                event: ev,
                outbox: addOutbox,
              },
              c.caseId,
              input.staff,
              c.conflict,
            );
          }
          return finish(c.caseId, 'applied', failure);
        case 'follow-up': {
          ev(c.caseId, 'case.follow-up', { matchedBy: c.matchedBy, flags });
          const waiting = db
            .prepare('UPDATE cases SET waiting_on_reporter = 0 WHERE id = ? AND waiting_on_reporter = 1')
            .run(c.caseId);
          // The reporter answered: the paused clock runs again (/pause).
          if (waiting.changes > 0) {
            ev(c.caseId, 'case.waiting-on-reporter', { waiting: false });
            syncDeadlines(db, c.caseId, config, deps.calendar, at);
          }
          pinKeys(db, clock, c.caseId, sender, d?.keys ?? [], input.messageRowId, messageId);
          // A reply naming one of our Message-IDs proves the sender reads this mailbox (issue #10).
          const answered = answeredOutbox(db, sender, [
            ...(d?.inReplyTo ? [d.inReplyTo] : []),
            ...(d?.references ?? []),
          ]);
          if (answered !== null) ev(c.caseId, REPLIED_TO_US, { outboxId: answered });
          db.prepare('UPDATE cases SET updated_at = ? WHERE id = ?').run(at, c.caseId);
          // A follow-up in clear on a protected case must not put its subject in clear either.
          const caseRow = db.prepare('SELECT subject FROM cases WHERE id = ?').get(c.caseId) as
            { subject: string } | undefined;
          notifyStaff(c.caseId, 'follow-up', {
            about: caseRow?.subject === PROTECTED_SUBJECT ? PROTECTED_SUBJECT : subject,
          });
          return finish(c.caseId, 'applied', failure);
        }
        case 'new-report': {
          const caseId = openCase(deps, { sender, name: d?.from?.name ?? null, subject, flags, at, now });
          ev(caseId, 'case.opened', { flags, linkedTo: c.linkedTo });
          if (c.linkedTo !== null) {
            db.prepare(
              'INSERT OR IGNORE INTO case_links (case_id, other_id, kind, created_at) VALUES (?, ?, ?, ?)',
            ).run(caseId, c.linkedTo, 'quoted-tag', at);
          }
          pinKeys(db, clock, caseId, sender, d?.keys ?? [], input.messageRowId, messageId);
          const hourAgo = new Date(now.getTime() - 3_600_000).toISOString();
          // Counted per mailbox: `user+1@`, `user+2@` and `user@` share one allowance.
          const box = mailboxOf(sender);
          const recent = db
            .prepare(
              `SELECT count(*) AS n FROM outbox o JOIN cases c ON c.id = o.case_id
               WHERE o.kind = 'acknowledgment' AND o.created_at > ?
                 AND (c.reporter_address = ? OR c.reporter_address LIKE ? ESCAPE '\\')`,
            )
            .get(hourAgo, box.mailbox, box.tagged) as { n: number };
          // Issue #10: a sender who has not proved a key or their mailbox gets the stricter limit.
          const knownBy: KnownBy | null =
            sender === '' ? null : knownCorrespondent(db, sender, input.messageRowId, d?.signature ?? null);
          const limit =
            knownBy === null
              ? config.acknowledgment.max_first_contact_per_hour
              : config.acknowledgment.max_per_sender_per_hour;
          let ackHeld: AckHeld | undefined;
          if (sender === '') {
            ev(caseId, 'acknowledgment.skipped', { reason: 'no sender address' });
            cancelAcknowledge(caseId);
          } else if (recent.n >= limit) {
            ackHeld = {
              reason: knownBy === null ? 'first-contact' : 'rate-limit',
              limit,
              lastHour: recent.n,
            };
            ev(caseId, 'acknowledgment.held', { ...ackHeld, knownBy });
            // Deliberately not answered (flood guard): its deadline must not page on-call. Staff
            // see it held in the notification and `psirt cases show`, and `/ack` sends it.
            cancelAcknowledge(caseId);
          } else {
            addOutbox({
              caseId,
              kind: 'acknowledgment',
              dedupeKey: `ack:${input.messageRowId}`,
              recipients: [sender],
              inReplyTo: messageId,
              references: [...(d?.references ?? []), ...(messageId === null ? [] : [messageId])],
              subject: replySubject(caseId, subject, deps.caseIdFormat.pattern),
              payload: {
                template: 'acknowledgment',
                messageRowId: input.messageRowId,
                autoSubmitted: 'auto-replied',
                flags,
              },
            });
            ev(caseId, 'acknowledgment.queued', { knownBy });
          }
          notifyStaff(caseId, 'new-report', { ackHeld });
          return finish(caseId, 'applied', failure);
        }
      }
    })
    .immediate();
}

function openCase(
  deps: ApplyDeps,
  r: { sender: string; name: string | null; subject: string; flags: CaseFlag[]; at: string; now: Date },
): string {
  const { db, config, caseIdFormat, calendar } = deps;
  const year = caseIdFormat.hasYear ? yearIn(config.calendar.time_zone, r.now) : 0;
  const next = db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM cases WHERE year = ?').get(year) as {
    seq: number;
  };
  const id = caseIdFormat.format(year, next.seq);
  db.prepare(
    `INSERT INTO cases (id, year, seq, reporter_address, reporter_name, subject, flags, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    id,
    year,
    next.seq,
    r.sender,
    r.name,
    sanitizeSubject(r.subject),
    JSON.stringify(r.flags),
    r.at,
    r.at,
  );
  db.prepare(
    'INSERT INTO deadlines (case_id, kind, due_at, calendar, policy, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
  ).run(
    id,
    'acknowledge',
    calendar.add(r.now, config.deadlines.acknowledge).toISOString(),
    calendar.id,
    policyOf(config),
    r.at,
  );
  syncDeadlines(db, id, config, calendar, r.at);
  return id;
}

/**
 * Pins the reporter's keys on first use. A different key for an address that already has a pinned
 * one is stored as `changed`, flagged on the case and shown to staff — never silently swapped in.
 */
function pinKeys(
  db: Db,
  clock: Clock,
  caseId: string,
  sender: string,
  keys: readonly FoundKey[],
  messageRowId: number,
  messageId: string | null,
): void {
  if (sender === '') return;
  const at = clock.now().toISOString();
  for (const k of keys) {
    if (!k.addresses.includes(sender)) continue;
    const existing = db
      .prepare('SELECT id FROM reporter_keys WHERE address = ? AND fingerprint = ?')
      .get(sender, k.fingerprint) as { id: number } | undefined;
    if (existing) {
      db.prepare('UPDATE reporter_keys SET last_seen_at = ? WHERE id = ?').run(at, existing.id);
      continue;
    }
    const pinned = db
      .prepare("SELECT fingerprint FROM reporter_keys WHERE address = ? AND status = 'pinned'")
      .get(sender) as { fingerprint: string } | undefined;
    const status = pinned ? 'changed' : 'pinned';
    db.prepare(
      `INSERT INTO reporter_keys (address, fingerprint, armored, source, status, first_seen_at, last_seen_at, first_message_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(sender, k.fingerprint, k.armored, k.source, status, at, at, messageRowId);
    appendEvent(db, clock, {
      caseId,
      type: pinned ? 'reporter-key.changed' : 'reporter-key.pinned',
      actor: `reporter:${sender}`,
      messageId,
      data: {
        fingerprint: k.fingerprint,
        source: k.source,
        ...(pinned ? { pinned: pinned.fingerprint } : {}),
      },
    });
    if (pinned) {
      const flags = JSON.parse(
        (db.prepare('SELECT flags FROM cases WHERE id = ?').get(caseId) as { flags: string }).flags,
      ) as string[];
      if (!flags.includes('key-changed')) {
        db.prepare('UPDATE cases SET flags = ? WHERE id = ?').run(
          JSON.stringify([...flags, 'key-changed']),
          caseId,
        );
      }
    }
  }
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
