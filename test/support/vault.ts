import type { Db } from '../../src/7-cases/db.js';
import { fixedClock } from '../../src/core/clock.js';
import type { Vault } from '../../src/core/vault.js';
import { openVault } from '../../src/roles/vault.js';
import { NOW, teamKey } from './mail-fixtures.js';

/** The vault a service process opens on `db` with the fixture team key (#13). */
export async function serviceVault(db: Db): Promise<Vault> {
  return (await openVault(db, fixedClock(NOW), [await teamKey()], { seal: true })).vault;
}
