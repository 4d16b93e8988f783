import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { newDataKey } from '../../../src/core/vault.js';
import { loadSealKeys } from '../../../src/7-cases/seal-key-store.js';
import { fixedClock } from '../../../src/core/clock.js';
import { openVault } from '../../../src/roles/vault.js';
import { migratedDb } from '../../support/db.js';
import { NOW, teamKey } from '../../support/mail-fixtures.js';

const clock = fixedClock(NOW);

describe('openVault: data keys wrapped to the team key (#13)', () => {
  it('creates one data key wrapped to the signing team key, and reuses it on the next start', async () => {
    const db = migratedDb();
    const team = await teamKey('team');
    const first = await openVault(db, clock, [team], { seal: true });
    const sealed = first.vault.seal('CANARY subject', 'cases.subject');
    const again = await openVault(db, clock, [team], { seal: true });
    expect(loadSealKeys(db)).toHaveLength(1);
    expect(loadSealKeys(db)[0]!.fingerprints).toEqual([team.fingerprint]);
    expect(loadSealKeys(db)[0]!.wrapped).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    expect(again.vault.currentKeyId).toBe(first.vault.currentKeyId);
    expect(again.vault.openText(sealed, 'cases.subject')).toBe('CANARY subject');
  });

  it('after a rotation seals with a new data key and still opens the old records while the retired key is configured', async () => {
    const db = migratedDb();
    const oldTeam = await teamKey('team');
    const newTeam = await teamKey('alice');
    const before = (await openVault(db, clock, [oldTeam], { seal: true })).vault.seal('old', 'messages.raw');
    const rotated = await openVault(db, clock, [newTeam, oldTeam], { seal: true });
    expect(loadSealKeys(db).map((r) => r.fingerprints)).toEqual([
      [oldTeam.fingerprint],
      [newTeam.fingerprint],
    ]);
    expect(rotated.vault.openText(before, 'messages.raw')).toBe('old');
    const after = rotated.vault.seal('new', 'messages.raw');
    const withoutOld = await openVault(db, clock, [newTeam], { seal: false });
    expect(withoutOld.unreadable.map((u) => u.fingerprints)).toEqual([[oldTeam.fingerprint]]);
    expect(withoutOld.vault.openText(after, 'messages.raw')).toBe('new');
    expect(() => withoutOld.vault.open(before, 'messages.raw')).toThrow(/not configured or not unlocked/);
  });

  it('a read-only opening (seal: false) writes no data key', async () => {
    const db = migratedDb();
    const opened = await openVault(db, clock, [await teamKey('team')], { seal: false });
    expect(loadSealKeys(db)).toHaveLength(0);
    expect(opened.vault.currentKeyId).toBeNull();
  });

  it('two processes starting at once end up sealing with the same data key', async () => {
    const db = migratedDb();
    const team = await teamKey('team');
    const [a, b] = await Promise.all([
      openVault(db, clock, [team], { seal: true }),
      openVault(db, clock, [team], { seal: true }),
    ]);
    expect(loadSealKeys(db)).toHaveLength(1);
    expect(a.vault.currentKeyId).toBe(b.vault.currentKeyId);
  });

  it('opens (openFresh) a record sealed with a data key created after this process started', async () => {
    const db = migratedDb();
    const oldTeam = await teamKey('team');
    const newTeam = await teamKey('alice');
    const early = await openVault(db, clock, [oldTeam, newTeam], { seal: true });
    // Another process restarts with the rotated configuration and seals with a new data key.
    const later = await openVault(db, clock, [newTeam, oldTeam], { seal: true });
    const sealed = later.vault.seal('CANARY after rotation', 'messages.raw');
    expect(() => early.vault.open(sealed, 'messages.raw')).toThrow(/not configured or not unlocked/);
    expect((await early.vault.openFresh(sealed, 'messages.raw')).toString()).toBe('CANARY after rotation');
  });

  it('never seals with, nor opens through, a data key planted in a copied database (review H1)', async () => {
    const db = migratedDb();
    const team = await teamKey('team');
    // Anyone holding the team's public key can wrap a key of their own: unsigned, or signed by
    // another key. Planted as the newest row for the signing team key.
    const planted = newDataKey();
    for (const signingKeys of [undefined, (await teamKey('alice')).key]) {
      const wrapped = await openpgp.encrypt({
        message: await openpgp.createMessage({ binary: planted }),
        encryptionKeys: team.key.toPublic(),
        ...(signingKeys === undefined ? {} : { signingKeys }),
        format: 'armored',
      });
      db.prepare('INSERT INTO seal_keys (created_at, fingerprints, wrapped) VALUES (?, ?, ?)').run(
        NOW.toISOString(),
        JSON.stringify([team.fingerprint]),
        wrapped,
      );
    }
    const reader = await openVault(db, clock, [team], { seal: false });
    expect(reader.unreadable.map((u) => u.id)).toEqual([1, 2]);
    await expect(openVault(db, clock, [team], { seal: true })).rejects.toThrow(/does not open/);
  });
});
