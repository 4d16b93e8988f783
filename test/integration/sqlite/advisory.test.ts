import { readFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../../src/7-cases/db.js';
import {
  currentAdvisory,
  readAdvisoryFields,
  readAdvisoryVersion,
} from '../../../src/7-cases/advisory-store.js';
import type { DecodedMessage } from '../../../src/2-decode/types.js';
import { buildDecoded, buildSignedStaffMail } from '../../support/builders.js';
import { migratedDb } from '../../support/db.js';
import { ingestHarness } from '../../support/ingest.js';

const harness = ingestHarness();
const { clock, config, ingest } = harness;
const alice = config.staff.find((s) => s.address === 'alice@psirt.test')!;
const TITLE = 'Canary7731 title of the flaw';
const SUMMARY = 'Canary8812 summary: a reflected XSS in the login form.';
let n = 0;

function staffMail(subject: string, text = 'Internal.'): DecodedMessage {
  n += 1;
  return buildSignedStaffMail(
    alice,
    subject,
    { from: { address: alice.address, name: 'alice' }, text },
    {
      messageId: `staff-${n}@psirt.test`,
      signedAt: clock.now().toISOString(),
      digest: `${n}`.padStart(64, '0'),
    },
  );
}

const fileBytes = (db: Db): string =>
  [db.name, `${db.name}-wal`]
    .filter((p) => existsSync(p))
    .map((p) => readFileSync(p).toString('latin1'))
    .join('');

describe('the advisory at rest through staff commands (#14)', () => {
  it('seals the fields, freezes the draft, queues it; a Credit: line from the reporter is recorded', () => {
    const db = migratedDb(clock);
    ingest(db, buildDecoded({ messageId: 'r1@x' }));
    ingest(db, staffMail(`Re: [SEC-2026-0001] XSS /title "${TITLE}" /summary`, SUMMARY));
    ingest(db, staffMail('Re: [SEC-2026-0001] XSS /draft'));
    const row = db
      .prepare('SELECT advisory_sealed, draft_sent_at FROM cases WHERE id = ?')
      .get('SEC-2026-0001') as { advisory_sealed: Buffer | null; draft_sent_at: string | null };
    expect(row.advisory_sealed).not.toBeNull();
    expect(row.draft_sent_at).not.toBeNull();
    const vault = harness.vault;
    expect(readAdvisoryFields(db, vault, 'SEC-2026-0001')).toMatchObject({ title: TITLE, summary: SUMMARY });
    expect(readAdvisoryVersion(db, vault, 'SEC-2026-0001', 'draft', 1)?.fields.title).toBe(TITLE);
    const drafts = db
      .prepare("SELECT message_id, payload FROM outbox WHERE kind = 'advisory-draft'")
      .all() as { message_id: string; payload: string }[];
    expect(drafts).toHaveLength(1);
    expect(JSON.parse(drafts[0]!.payload)).toMatchObject({ draft: 1 });
    db.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = fileBytes(db);
    expect(bytes).not.toContain('Canary7731');
    expect(bytes).not.toContain('Canary8812');

    // Another address, on the thread: nothing recorded.
    ingest(
      db,
      buildDecoded({
        messageId: 'other@x',
        from: { address: 'mallory@evil.test', name: 'M' },
        inReplyTo: drafts[0]!.message_id,
        references: [drafts[0]!.message_id],
        text: 'Credit: Mallory',
      }),
    );
    const pref = () =>
      (
        db.prepare('SELECT credit_preference FROM cases WHERE id = ?').get('SEC-2026-0001') as {
          credit_preference: string | null;
        }
      ).credit_preference;
    expect(pref()).toBeNull();
    // The reporter's reply.
    ingest(
      db,
      buildDecoded({
        messageId: 'r2@x',
        inReplyTo: drafts[0]!.message_id,
        references: ['r1@x', drafts[0]!.message_id],
        text: 'Looks right.\n\nCredit: Jane Doe\n\nOn Tue, PSIRT wrote:\n> Credit: Your Name\n',
      }),
    );
    expect(pref()).toBe('Jane Doe');
    expect(currentAdvisory(db, vault, 'SEC-2026-0001', clock.now().toISOString())?.credit).toBe('Jane Doe');
    const notes = db
      .prepare("SELECT payload FROM outbox WHERE kind = 'staff-notification' ORDER BY id DESC LIMIT 1")
      .get() as { payload: string };
    expect(JSON.parse(notes.payload)).toMatchObject({
      credit: { stated: { credit: 'Jane Doe' }, answersDraft: 1 },
    });
  });
});
