import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { loadTeamKeys } from '../../../src/pgp/keyring.js';
import { UnlockError, unlockInWorker } from '../../../src/pgp/unlock.js';
import { fixedClock } from '../../../src/core/clock.js';

const KEYS = join(import.meta.dirname, '..', '..', 'fixtures', 'keys');
const TEAM = join(KEYS, 'team.sec.asc');
const PASSPHRASE = 'test-only-team-passphrase';

describe('unlocking the team key in a worker thread (#16)', () => {
  it('returns the key unlocked, the same key as the locked file', async () => {
    const armored = readFileSync(TEAM, 'utf8');
    const locked = await openpgp.readPrivateKey({ armoredKey: armored });
    expect(locked.isDecrypted()).toBe(false);
    const unlocked = await openpgp.readPrivateKey({ armoredKey: await unlockInWorker(armored, PASSPHRASE) });
    expect(unlocked.isDecrypted()).toBe(true);
    expect(unlocked.getFingerprint()).toBe(locked.getFingerprint());
    // It signs: the secret material came back whole.
    const sig = await openpgp.sign({
      message: await openpgp.createMessage({ text: 'x' }),
      signingKeys: unlocked,
      detached: true,
    });
    const check = await openpgp.verify({
      message: await openpgp.createMessage({ text: 'x' }),
      signature: await openpgp.readSignature({ armoredSignature: sig }),
      verificationKeys: locked.toPublic(),
    });
    await expect(check.signatures[0]?.verified).resolves.toBe(true);
  });

  it('refuses a wrong passphrase with an error that names neither key nor passphrase', async () => {
    const err = await unlockInWorker(readFileSync(TEAM, 'utf8'), 'not-the-passphrase').catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnlockError);
    expect(String(err)).not.toContain('not-the-passphrase');
    expect(String(err)).not.toContain('BEGIN PGP');
  });

  it('loadTeamKeys unlocks through it and says which config key failed', async () => {
    const clock = fixedClock(new Date('2026-12-01T12:00:00Z'));
    const [team] = await loadTeamKeys({ keys: [{ file: TEAM, passphrase: PASSPHRASE }] } as never, clock);
    expect(team?.key.isDecrypted()).toBe(true);
    await expect(
      loadTeamKeys({ keys: [{ file: TEAM, passphrase: 'wrong' }] } as never, clock),
    ).rejects.toThrow('pgp.keys[0]: the passphrase does not unlock the key');
  });
});
