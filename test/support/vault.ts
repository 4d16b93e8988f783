import type { Db } from '../../src/7-cases/db.js';
import { fixedClock } from '../../src/core/clock.js';
import { randomBytes } from 'node:crypto';
import { Vault } from '../../src/core/vault.js';
import { openVault } from '../../src/roles/vault.js';
import { NOW, teamKey } from './mail-fixtures.js';

/** The vault a service process opens on `db` with the fixture team key (#13). */
export async function serviceVault(db: Db): Promise<Vault> {
  return (await openVault(db, fixedClock(NOW), [await teamKey()], { seal: true })).vault;
}

/**
 * A vault with a fresh random data key, for store tests that seal and open within one process
 * and never reopen the database with the team key (its key is not in `seal_keys`).
 */
export function testVault(): Vault {
  return new Vault({ id: 1, key: randomBytes(32) });
}
