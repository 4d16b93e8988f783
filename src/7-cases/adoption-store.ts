import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { mintMessageId } from '../core/message-id.js';
import { mailDomain } from './addresses.js';
import type { Db } from './db.js';
import { appendEvent } from './events.js';

/** Adopting an existing mailbox (issue #15): import runs, their counters, the historical marks. */

export type AdoptionKind = 'imap' | 'mbox' | 'maildir' | 'none';

/** What one message of an import did, counted in the message's own transaction. */
export type AdoptionCount = 'cases_created' | 'follow_ups' | 'quarantined' | 'other';

export interface AdoptionCounts {
  cases_created: number;
  follow_ups: number;
  quarantined: number;
  other: number;
}

export interface Adoption extends AdoptionCounts {
  id: number;
  kind: AdoptionKind;
  source: string;
  startedAt: string;
  finishedAt: string | null;
  runs: number;
}

interface AdoptionRow extends AdoptionCounts {
  id: number;
  kind: AdoptionKind;
  source: string;
  started_at: string;
  finished_at: string | null;
  runs: number;
}

const toAdoption = (r: AdoptionRow): Adoption => ({
  id: r.id,
  kind: r.kind,
  source: r.source,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  runs: r.runs,
  cases_created: r.cases_created,
  follow_ups: r.follow_ups,
  quarantined: r.quarantined,
  other: r.other,
});

/**
 * Opens an import of `source`, or resumes the unfinished one of the same source (a crash or a
 * kill): its counters go on from where the committed messages left them.
 */
export function beginAdoption(db: Db, clock: Clock, kind: AdoptionKind, source: string): Adoption {
  return db
    .transaction((): Adoption => {
      const open = db
        .prepare(
          'UPDATE adoptions SET runs = runs + 1 WHERE kind = ? AND source = ? AND finished_at IS NULL RETURNING *',
        )
        .get(kind, source) as AdoptionRow | undefined;
      if (open) return toAdoption(open);
      const row = db
        .prepare('INSERT INTO adoptions (kind, source, started_at) VALUES (?, ?, ?) RETURNING *')
        .get(kind, source, clock.now().toISOString()) as AdoptionRow;
      return toAdoption(row);
    })
    .immediate();
}

/** Counts one message of an import (inside the message's transaction). */
export function countAdopted(db: Db, adoptionId: number, what: AdoptionCount): void {
  db.prepare(`UPDATE adoptions SET ${what} = ${what} + 1 WHERE id = ?`).run(adoptionId);
}

/**
 * Marks a case opened by an import, and every deadline it has now, historical (inside the
 * message's transaction): derived from the original dates, shown, never escalated. Pending
 * escalation steps of the case stop; the sweep also refuses historical ones (fireEscalation).
 */
export function markHistorical(db: Db, caseId: string, opened: boolean): void {
  if (opened) db.prepare('UPDATE cases SET historical = 1 WHERE id = ?').run(caseId);
  const row = db.prepare('SELECT historical FROM cases WHERE id = ?').get(caseId) as
    { historical: number } | undefined;
  if (row?.historical !== 1) return;
  db.prepare('UPDATE deadlines SET historical = 1 WHERE case_id = ?').run(caseId);
  db.prepare("UPDATE escalations SET state = 'stopped' WHERE case_id = ? AND state = 'pending'").run(caseId);
}

/** Whether the case was opened from imported history. */
export function isHistoricalCase(db: Db, caseId: string): boolean {
  const row = db.prepare('SELECT historical FROM cases WHERE id = ?').get(caseId) as
    { historical: number } | undefined;
  return row?.historical === 1;
}

/**
 * Finishes an import: stamps it and queues the one summary mail to the security staff (counts
 * only, issue #15) in the same transaction. The running service's mailer sends it. Returns the
 * adoption as finished.
 */
export function finishAdoption(db: Db, clock: Clock, config: Config, adoptionId: number): Adoption {
  return db
    .transaction((): Adoption => {
      const at = clock.now().toISOString();
      const row = db
        .prepare('UPDATE adoptions SET finished_at = ? WHERE id = ? RETURNING *')
        .get(at, adoptionId) as AdoptionRow | undefined;
      if (!row) throw new Error(`adoption ${adoptionId} is not recorded`);
      const recipients = summaryRecipients(config);
      // An import that recorded nothing (an empty export, everything already imported) tells
      // nobody anything: no summary (issue #15 trial).
      if (row.kind !== 'none' && adoptedAny(row) && recipients.length > 0) {
        const info = db
          .prepare(
            `INSERT INTO outbox (case_id, kind, dedupe_key, recipients, message_id, in_reply_to, refs, subject, payload, created_at)
             VALUES (NULL, 'import-summary', ?, ?, ?, NULL, '', ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
          )
          .run(
            `import-summary:${adoptionId}`,
            JSON.stringify(recipients),
            mintMessageId('psirt', 'import-summary', mailDomain(config)),
            `Mailbox adopted: ${row.cases_created} case(s) imported as history`,
            JSON.stringify({
              template: 'import-summary',
              autoSubmitted: 'auto-generated',
              source: row.kind,
              startedAt: row.started_at,
              finishedAt: at,
              runs: row.runs,
              casesCreated: row.cases_created,
              followUps: row.follow_ups,
              quarantined: row.quarantined,
              other: row.other,
            }),
            at,
          );
        if (info.changes > 0)
          db.prepare('UPDATE adoptions SET summary_outbox_id = ? WHERE id = ?').run(
            Number(info.lastInsertRowid),
            adoptionId,
          );
      }
      return toAdoption(row);
    })
    .immediate();
}

/** Whether an import recorded any message, over all its runs. */
export function adoptedAny(a: AdoptionCounts): boolean {
  return a.cases_created + a.follow_ups + a.quarantined + a.other > 0;
}

/** The security staff (role `security`), or every staff member when none has that role. */
function summaryRecipients(config: Config): string[] {
  const security = config.staff.filter((s) => s.roles.includes('security')).map((s) => s.address);
  return security.length > 0 ? security : config.staff.map((s) => s.address);
}

/** The imports left unfinished (a crash, a kill, a failure), oldest first. */
export function openAdoptions(db: Db): Pick<Adoption, 'id' | 'kind' | 'source' | 'startedAt'>[] {
  return (
    db
      .prepare('SELECT id, kind, source, started_at FROM adoptions WHERE finished_at IS NULL ORDER BY id')
      .all() as { id: number; kind: AdoptionKind; source: string; started_at: string }[]
  ).map((r) => ({ id: r.id, kind: r.kind, source: r.source, startedAt: r.started_at }));
}

/**
 * "mbox /path/x.mbox (`psirt import --mbox /path/x.mbox` finishes it)": each unfinished import,
 * its kind, source and the command that resumes it.
 */
export function describeOpenAdoptions(open: readonly Pick<Adoption, 'kind' | 'source'>[]): string {
  const resume = (a: Pick<Adoption, 'kind' | 'source'>): string =>
    a.kind === 'imap' ? 'psirt import' : `psirt import --${a.kind} ${a.source}`;
  return open.map((a) => `${a.kind} ${a.source} (\`${resume(a)}\` finishes it)`).join(', ');
}

/**
 * `psirt import --none` over unfinished imports (issue #15 trial): closes each — stamped finished
 * and an `adoption.abandoned` service event in the chain (kind, source, counts; no content) saying
 * it was abandoned, not completed — then records `--none`, in one transaction. What those imports
 * stored stays history; what they did not reach is answered as new. No summary mail.
 */
export function abandonAdoptions(db: Db, clock: Clock, config: Config): Adoption[] {
  return db
    .transaction((): Adoption[] => {
      const at = clock.now().toISOString();
      const rows = db
        .prepare('UPDATE adoptions SET finished_at = ? WHERE finished_at IS NULL RETURNING *')
        .all(at) as AdoptionRow[];
      for (const r of rows)
        appendEvent(db, clock, {
          caseId: null,
          type: 'adoption.abandoned',
          actor: 'system',
          data: {
            adoptionId: r.id,
            kind: r.kind,
            source: r.source,
            note: 'closed unfinished by `psirt import --none`: mail it did not reach is answered as new',
            casesCreated: r.cases_created,
            followUps: r.follow_ups,
          },
        });
      db.prepare('INSERT INTO adoptions (kind, source, started_at, finished_at) VALUES (?, ?, ?, ?)').run(
        'none',
        config.imap.mailbox,
        at,
        at,
      );
      return rows.map(toAdoption);
    })
    .immediate();
}

/**
 * Whether the configured mailbox was adopted: `adopted` (an import of it, or `--none`, finished),
 * `interrupted` (an import of any source is unfinished: its stored mail must not be answered as
 * new), or `none`.
 */
export function adoptionState(db: Db, mailbox: string): 'adopted' | 'interrupted' | 'none' {
  const open = db.prepare('SELECT 1 FROM adoptions WHERE finished_at IS NULL LIMIT 1').get();
  if (open !== undefined) return 'interrupted';
  const done = db
    .prepare(
      "SELECT 1 FROM adoptions WHERE kind IN ('imap', 'none') AND source = ? AND finished_at IS NOT NULL LIMIT 1",
    )
    .get(mailbox);
  return done === undefined ? 'none' : 'adopted';
}
