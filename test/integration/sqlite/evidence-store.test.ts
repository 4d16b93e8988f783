import { describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../src/7-cases/db.js';
import {
  readEvidencePeriod,
  readEvidenceSnapshot,
  recordEvidenceExport,
} from '../../../src/7-cases/evidence-store.js';
import { buildDecoded, buildSignedStaffMail } from '../../support/builders.js';
import { migratedDb } from '../../support/db.js';
import { ingestHarness } from '../../support/ingest.js';

const { clock, config, ingest, vault } = ingestHarness({ at: '2026-11-02T09:00:00Z' });
const carol = config.staff.find((s) => s.address === 'carol@psirt.test')!;

function withCases(): { db: Db; path: string } {
  clock.set('2026-11-02T09:00:00Z');
  const db = migratedDb(clock);
  ingest(
    db,
    buildDecoded({ messageId: 'r1@x', from: { address: 'secret-reporter@psirt.test', name: 'Secret Name' } }),
  );
  clock.set('2026-12-02T09:00:00Z');
  ingest(db, buildDecoded({ messageId: 'r2@x', subject: 'Second' }));
  clock.set('2026-12-03T09:00:00Z');
  ingest(
    db,
    buildSignedStaffMail(
      carol,
      'Re: [SEC-2026-0001] x /triage /hold "records for litigation"',
      { text: 'a note with content' },
      { messageId: 'c1@psirt.test', signedAt: clock.now().toISOString() },
    ),
  );
  return { db, path: db.name };
}

const version = (db: Db, digest: string, at: string): void => {
  db.prepare(
    `INSERT INTO procedure_versions (config_digest, first_started_at, policy_digest, calendar_digest, team_fingerprint, config_json)
     VALUES (?, ?, 'p', 'c', 'F', '{}')`,
  ).run(digest, at);
  db.prepare(
    `INSERT INTO procedure_starts (started_at, config_digest, roles, version) VALUES (?, ?, '["intake","mailer","escalation"]', '0.1.0')`,
  ).run(at, digest);
};

describe('readEvidencePeriod', () => {
  it('never gives the subject of an encrypted report, even with includeSubjects (protected subject)', () => {
    const db = migratedDb(clock);
    const canary = `ENCRYPTED-SUBJECT-${String(Date.now())}`;
    ingest(
      db,
      buildDecoded({
        messageId: 'enc@x',
        subject: canary,
        encryption: {
          state: 'decrypted',
          format: 'pgp-mime',
          keyIds: [],
          teamKeyFingerprint: 'F'.repeat(40),
        },
      }),
    );
    ingest(db, buildDecoded({ messageId: 'plain@x', subject: 'Plain subject' }));
    const r = readEvidencePeriod(db, {
      from: new Date('2026-01-01T00:00:00Z'),
      to: new Date('2026-12-31T23:59:59Z'),
      includeSubjects: true,
      vault,
    });
    expect(r.cases.map((c) => c.subject)).toEqual(['...', 'Plain subject']);
    expect(JSON.stringify(r)).not.toContain(canary);
  });

  it('takes the cases received in the period or with an event in it, nothing else', () => {
    const { db } = withCases();
    const dec = readEvidencePeriod(db, {
      from: new Date('2026-12-03T00:00:00Z'),
      to: new Date('2026-12-31T23:59:59Z'),
      includeSubjects: false,
    });
    expect(dec.cases.map((c) => c.id)).toEqual(['SEC-2026-0001']);
    const early = readEvidencePeriod(db, {
      from: new Date('2026-12-02T00:00:00Z'),
      to: new Date('2026-12-02T23:59:59Z'),
      includeSubjects: false,
    });
    expect(early.cases.map((c) => c.id)).toEqual(['SEC-2026-0002']);
  });

  it('never gives the reporter address, name, a note or a subject unless asked; staff by address', () => {
    const { db } = withCases();
    const all = readEvidencePeriod(db, {
      from: new Date('2026-01-01T00:00:00Z'),
      to: new Date('2026-12-31T23:59:59Z'),
      includeSubjects: false,
    });
    const text = JSON.stringify(all);
    expect(text).not.toContain('secret-reporter');
    expect(text).not.toContain('Secret Name');
    expect(text).not.toContain('a note with content');
    expect(text).not.toContain('XSS in the login form');
    expect(all.cases[0]).toMatchObject({ on_hold: true, stage: 'verifying' });
    expect(all.events.find((e) => e.type === 'case.hold')).toMatchObject({
      actor: 'staff',
      staff: 'carol@psirt.test',
      detail: { onHold: true },
    });
    expect(all.events.find((e) => e.type === 'case.opened')).toMatchObject({
      actor: 'reporter',
      staff: null,
    });
    const withSubjects = readEvidencePeriod(db, {
      from: new Date('2026-01-01T00:00:00Z'),
      to: new Date('2026-12-31T23:59:59Z'),
      includeSubjects: true,
      vault,
    });
    expect(withSubjects.cases.map((c) => c.subject)).toEqual(['XSS in the login form', 'Second']);
  });

  it('gives the procedure version in force at the start of the period and every one started in it', () => {
    const { db } = withCases();
    version(db, 'old', '2026-01-05T00:00:00.000Z');
    version(db, 'before', '2026-11-20T00:00:00.000Z');
    version(db, 'during', '2026-12-10T00:00:00.000Z');
    version(db, 'after', '2027-01-10T00:00:00.000Z');
    const r = readEvidencePeriod(db, {
      from: new Date('2026-12-01T00:00:00Z'),
      to: new Date('2026-12-31T23:59:59Z'),
      includeSubjects: false,
    });
    expect(r.starts.map((s) => s.config_digest)).toEqual(['before', 'during']);
    expect(r.versions.map((v) => v.config_digest)).toEqual(['before', 'during']);
  });

  it('reads on a read-only handle, with the chain verdict of the same snapshot', () => {
    const { db, path } = withCases();
    db.close();
    const ro = openDatabase(path, { readonly: true });
    const { period, chain } = readEvidenceSnapshot(ro, {
      from: new Date('2026-01-01T00:00:00Z'),
      to: new Date('2026-12-31T23:59:59Z'),
      includeSubjects: false,
    });
    expect(period.cases).toHaveLength(2);
    expect(chain.firstBroken).toBeNull();
    expect(chain.head?.eventId).toBe(Math.max(...period.events.map((e) => e.id), chain.head?.eventId ?? 0));
    ro.close();
    const rw = openDatabase(path);
    const id = recordEvidenceExport(rw, {
      writtenAt: new Date('2026-12-05T00:00:00Z'),
      periodFrom: '2026-01-01',
      periodTo: '2026-12-31',
      head: chain.head,
      manifestSha256: 'm'.repeat(64),
      archive: 'a.tar.gz',
    });
    expect(rw.prepare('SELECT head_event_id, head_hash FROM evidence_exports WHERE id = ?').get(id)).toEqual({
      head_event_id: chain.head!.eventId,
      head_hash: chain.head!.hash,
    });
    rw.close();
  });
});
