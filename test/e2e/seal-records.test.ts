import { workerStack } from '../support/worker-stack.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/7-cases/db.js';
import { runCli } from '../support/cli.js';
import { migratedDb, tempDbPath } from '../support/db.js';
import { writeLegacyRecords } from '../support/legacy-records.js';
import { FINGERPRINTS, KEYS_DIR, TEAM_PASSPHRASE } from '../support/mail-fixtures.js';
import { stackEnv } from '../support/stack.js';
import { bytesAtRest } from '../support/at-rest.js';

const stack = workerStack();

/** A config file naming the team keys (`pgp.keys`), with or without the team key's passphrase. */
function keysConfig(keys: { name: 'team' | 'alice'; passphrase?: boolean }[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'psirt-keys-')), 'keys.toml');
  const entries = keys.map(
    (k) =>
      `{ file = "${KEYS_DIR}${k.name}.sec.asc"${k.passphrase === true ? `, passphrase = "${TEAM_PASSPHRASE}"` : ''} }`,
  );
  writeFileSync(file, `[pgp]\nkeys = [${entries.join(', ')}]\n`);
  return file;
}

/** The doctor line of check `name` (its mark and detail). */
const line = (stdout: string, name: string): string =>
  (stdout.split('\n').find((l) => l.slice(2).startsWith(`${name}  `)) ?? '').replace(/ {2,}/, '  ');

describe('psirt seal, rewrap, doctor and the CLI readers on a database written before #13', () => {
  it('seals the backlog, reads subjects with the passphrase and "(sealed)" without, and survives a key rotation through rewrap', async () => {
    const canary = 'CANARY-cli-e2e-5d02';
    const dbPath = tempDbPath();
    const db = migratedDb(undefined, dbPath);
    writeLegacyRecords(db, dbPath, canary, { cases: 2 });
    db.close();
    const env = (config: string) => ['--config', config];
    const base = stackEnv(stack, { PSIRT_DATABASE__PATH: dbPath });
    const team = keysConfig([{ name: 'team', passphrase: true }]);
    const locked = keysConfig([{ name: 'team' }]);
    const rotated = keysConfig([{ name: 'alice' }, { name: 'team', passphrase: true }]);
    const retired = keysConfig([{ name: 'alice' }]);
    const teamFpr = FINGERPRINTS.team;
    const aliceFpr = FINGERPRINTS.alice;

    // Before: doctor warns about records in clear.
    const before = await runCli([...env(team), 'doctor'], base);
    expect(line(before.stdout, 'records in clear')).toBe(
      '! records in clear  2 raw mails, 1 spool file, 2 subjects, 6 outbox subjects stored in clear (written before sealing)',
    );
    expect(before.stdout).toContain('fix: run psirt seal');

    // Without the passphrase, psirt seal refuses in one line and changes nothing.
    const refused = await runCli([...env(locked), 'seal'], base);
    expect(refused.stderr).toBe(
      'psirt: psirt seal needs the unlocked team key (its passphrase), nothing done: pgp.keys[0]: the key is passphrase-protected but no passphrase is configured\n',
    );
    expect(refused.code).toBe(1);
    expect(bytesAtRest(dbPath).includes(canary)).toBe(true);

    const sealed = await runCli([...env(team), 'seal'], base);
    expect(sealed.stdout).toBe('sealed 2 raw mails, 1 spool files, 2 case subjects, 6 outbox subjects\n');
    expect(sealed.stderr).toContain('psirt: sealing raw mails 2/2');
    expect(sealed.code).toBe(0);
    expect(bytesAtRest(dbPath).includes(canary)).toBe(false);
    const again = await runCli([...env(team), 'seal'], base);
    expect(again.stdout).toBe('nothing in clear: every record is sealed\n');

    const doctor = await runCli([...env(team), 'doctor'], base);
    expect(line(doctor.stdout, 'sealed to key 0')).toBe(
      `✓ sealed to key 0  ${teamFpr}: 2 raw mails, 1 spool file, 2 subjects (1 data key)`,
    );
    expect(line(doctor.stdout, 'records in clear')).toMatch(/^✓ records in clear\s+none/);

    // Readers: the real subject with the passphrase, "(sealed)" without, never a failure.
    const shown = await runCli([...env(team), 'cases', 'show', 'SEC-2026-0001'], base);
    expect(shown.stdout.split('\n')[0]).toBe(`SEC-2026-0001  Heap overflow ${canary} #1`);
    const listed = await runCli([...env(team), 'cases', 'list', '--json'], base);
    expect((JSON.parse(listed.stdout) as { subject: string }[]).map((r) => r.subject)).toEqual([
      `Heap overflow ${canary} #2`,
      `Heap overflow ${canary} #1`,
    ]);
    const shut = await runCli([...env(locked), 'cases', 'show', 'SEC-2026-0001', '--json'], base);
    expect(shut.code).toBe(0);
    const shutCase = (JSON.parse(shut.stdout) as { case: Record<string, unknown> }).case;
    expect(shutCase.subject).toBe('(sealed)');
    expect(shutCase).not.toHaveProperty('subject_sealed');
    const shutList = await runCli([...env(locked), 'cases', 'list'], base);
    expect(shutList.stdout).toMatch(/SEC-2026-0001 .* \(sealed\)$/m);
    expect(shutList.code).toBe(0);

    // Rotation: alice's key signs now, the retired team key stays configured: still readable.
    const withBoth = await runCli([...env(rotated), 'cases', 'show', 'SEC-2026-0002'], base);
    expect(withBoth.stdout.split('\n')[0]).toBe(`SEC-2026-0002  Heap overflow ${canary} #2`);
    // Removing the retired key before rewrap: doctor fails naming it, readers show "(sealed)".
    const early = await runCli([...env(retired), 'doctor'], base);
    expect(line(early.stdout, 'sealed records')).toBe(
      `✗ sealed records  5 records sealed to key ${teamFpr}, which is not configured`,
    );
    expect(early.code).toBe(1);
    const early2 = await runCli([...env(retired), 'cases', 'show', 'SEC-2026-0002'], base);
    expect(early2.stdout.split('\n')[0]).toBe('SEC-2026-0002  (sealed)');

    const rewrapped = await runCli([...env(rotated), 'rewrap'], base);
    expect(rewrapped.stdout).toBe(
      [
        `data key 1: re-wrapped from ${teamFpr} to ${aliceFpr}`,
        `done: 1 re-wrapped, 0 already wrapped to ${aliceFpr}, 0 not openable`,
        'every data key opens with the signing key alone: retired keys can leave pgp.keys',
        '',
      ].join('\n'),
    );
    expect(rewrapped.code).toBe(0);
    const twice = await runCli([...env(rotated), 'rewrap'], base);
    expect(twice.stdout).toContain(`done: 0 re-wrapped, 1 already wrapped to ${aliceFpr}, 0 not openable`);

    // The retired key can go: everything reads with alice's key alone.
    const after = await runCli([...env(retired), 'cases', 'show', 'SEC-2026-0002'], base);
    expect(after.stdout.split('\n')[0]).toBe(`SEC-2026-0002  Heap overflow ${canary} #2`);
    const doctorAfter = await runCli([...env(retired), 'doctor'], base);
    expect(line(doctorAfter.stdout, 'sealed to key 0')).toBe(
      `✓ sealed to key 0  ${aliceFpr}: 2 raw mails, 1 spool file, 2 subjects (1 data key)`,
    );
    expect(doctorAfter.stdout).not.toContain('sealed records');
    const check = openDatabase(dbPath, { readonly: true });
    expect(check.prepare('SELECT fingerprints FROM seal_keys').all()).toEqual([
      { fingerprints: JSON.stringify([aliceFpr]) },
    ]);
    check.close();
  }, 180_000); // some ten CLI runs: under two parallel e2e files each start takes seconds
});
