import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCalendar } from '../../../src/calendar/calendar.js';
import { openDatabase, type Db } from '../../../src/7-cases/db.js';
import { procedureVersionsInForce } from '../../../src/7-cases/procedure-store.js';
import { configDigest } from '../../../src/config/digest.js';
import { loadConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { loadTeamKeys, type TeamKey } from '../../../src/pgp/keyring.js';
import { policyOf } from '../../../src/policy/deadlines.js';
import { recordStart } from '../../../src/roles/procedure.js';
import { migratedDb, tempDbPath } from '../../support/db.js';
import { settableClock } from '../../support/ingest.js';
import { fixedClock } from '../../../src/core/clock.js';
import { NOW } from '../../support/mail-fixtures.js';

/** A secret no stored row may hold: the IMAP password of the start. */
const SECRET = 'imap-secret-5e0c-do-not-store';

const configWith = (env: Record<string, string> = {}): Config =>
  loadConfig({ env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: SECRET, ...env } });

let teamKeys: TeamKey[];
beforeAll(async () => {
  teamKeys = await loadTeamKeys(configWith().pgp, fixedClock(NOW));
});

/** The service's database file, opened again as a fresh start would. */
function restarted(path: string): Db {
  return openDatabase(path);
}

function startWith(path: string, config: Config, at: string, roles = ['intake', 'mailer', 'escalation']) {
  const db = restarted(path);
  const logged: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => logged.push(line) });
  try {
    const calendar = createCalendar(config.calendar);
    const r = recordStart(db, settableClock(at), log, config, {
      teamKeys,
      calendar,
      roles,
      version: '9.9.9',
    });
    return { ...r, logged };
  } finally {
    db.close();
  }
}

function rows(path: string) {
  const db = openDatabase(path, { readonly: true });
  try {
    return {
      versions: db.prepare('SELECT * FROM procedure_versions ORDER BY first_started_at').all() as Record<
        string,
        string | null
      >[],
      starts: db.prepare('SELECT * FROM procedure_starts ORDER BY id').all() as Record<string, unknown>[],
    };
  } finally {
    db.close();
  }
}

function freshFile(): string {
  const path = tempDbPath();
  migratedDb(fixedClock(NOW), path).close();
  return path;
}

describe('the procedure history (recordStart)', () => {
  it('records one version and two starts for two starts with the same configuration', () => {
    const path = freshFile();
    const first = startWith(path, configWith(), '2026-11-01T08:00:00.000Z');
    const second = startWith(path, configWith(), '2026-11-02T08:00:00.000Z', ['mailer']);
    expect([first.isNew, second.isNew]).toEqual([true, false]);
    const { versions, starts } = rows(path);
    expect(versions).toHaveLength(1);
    const config = configWith();
    expect(versions[0]).toMatchObject({
      config_digest: configDigest(config),
      first_started_at: '2026-11-01T08:00:00.000Z',
      policy_digest: policyOf(config),
      calendar_digest: createCalendar(config.calendar).id,
      team_fingerprint: teamKeys[0]!.fingerprint,
      team_key_expires: teamKeys[0]!.expires?.toISOString() ?? null,
    });
    expect(starts).toEqual([
      {
        id: first.startId,
        started_at: '2026-11-01T08:00:00.000Z',
        config_digest: configDigest(config),
        roles: '["intake","mailer","escalation"]',
        version: '9.9.9',
      },
      {
        id: second.startId,
        started_at: '2026-11-02T08:00:00.000Z',
        config_digest: configDigest(config),
        roles: '["mailer"]',
        version: '9.9.9',
      },
    ]);
  });

  it('records a second version when deadlines.verify changes', () => {
    const path = freshFile();
    startWith(path, configWith(), '2026-11-01T08:00:00.000Z');
    const changed = configWith({ PSIRT_DEADLINES__VERIFY__AMOUNT: '5' });
    expect(changed.deadlines.verify.amount).toBe(5);
    const r = startWith(path, changed, '2026-11-02T08:00:00.000Z');
    expect(r.isNew).toBe(true);
    const { versions } = rows(path);
    expect(versions.map((v) => v.config_digest)).toEqual([configDigest(configWith()), configDigest(changed)]);
    expect(versions[0]?.policy_digest).not.toBe(versions[1]?.policy_digest);
  });

  it('records no new version when only a secret changes, and stores no secret', () => {
    const path = freshFile();
    startWith(path, configWith(), '2026-11-01T08:00:00.000Z');
    const other = configWith({ PSIRT_IMAP__PASSWORD: 'another-secret-91b2' });
    expect(other.imap.password).toBe('another-secret-91b2');
    const r = startWith(path, other, '2026-11-02T08:00:00.000Z');
    expect(r.isNew).toBe(false);
    const { versions, starts } = rows(path);
    expect(versions).toHaveLength(1);
    expect(starts).toHaveLength(2);
    const stored = JSON.stringify(versions) + JSON.stringify(starts);
    expect(stored).not.toContain(SECRET);
    expect(stored).not.toContain('another-secret-91b2');
    expect(stored).not.toContain('test-only-team-passphrase');
    // The configuration is there, redacted: what was secret reads "[redacted]".
    const json = JSON.parse(versions[0]!.config_json!) as { imap: { password: string } };
    expect(json.imap.password).toBe('[redacted]');
  });

  it('logs one procedure.recorded line with the digest and whether it is new, never the configuration', () => {
    const path = freshFile();
    const config = configWith();
    const first = startWith(path, config, '2026-11-01T08:00:00.000Z');
    const second = startWith(path, config, '2026-11-02T08:00:00.000Z');
    for (const [run, isNew] of [
      [first, true],
      [second, false],
    ] as const) {
      const lines = run.logged.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        event: 'procedure.recorded',
        digest: configDigest(config),
        new: isNew,
      });
      expect(run.logged.join('')).not.toContain(SECRET);
      expect(run.logged.join('')).not.toContain(config.imap.host);
    }
  });
});

describe('procedureVersionsInForce()', () => {
  const A = configWith();
  const B = configWith({ PSIRT_DEADLINES__VERIFY__AMOUNT: '5' });

  /** Starts: A on 1 Oct, B on 1 Nov, A again on 10 Nov, A on 20 Nov (a restart), B on 5 Dec. */
  function history(): string {
    const path = freshFile();
    startWith(path, A, '2026-10-01T08:00:00.000Z');
    startWith(path, B, '2026-11-01T08:00:00.000Z');
    startWith(path, A, '2026-11-10T08:00:00.000Z');
    startWith(path, A, '2026-11-20T08:00:00.000Z');
    startWith(path, B, '2026-12-05T08:00:00.000Z');
    return path;
  }

  const inForce = (path: string, from: string, to: string) => {
    const db = openDatabase(path, { readonly: true });
    try {
      return procedureVersionsInForce(db, new Date(from), new Date(to));
    } finally {
      db.close();
    }
  };

  it('gives the version of the last start before the period and every start inside, with when each was in force', () => {
    const got = inForce(history(), '2026-10-15T00:00:00.000Z', '2026-12-01T00:00:00.000Z');
    expect(got.map((v) => v.configDigest)).toEqual([configDigest(A), configDigest(B)]);
    expect(got[0]?.starts.map((s) => s.startedAt)).toEqual([
      '2026-10-01T08:00:00.000Z',
      '2026-11-10T08:00:00.000Z',
      '2026-11-20T08:00:00.000Z',
    ]);
    expect(got[0]?.periods).toEqual([
      { from: '2026-10-15T00:00:00.000Z', to: '2026-11-01T08:00:00.000Z' },
      // The restart on 20 Nov with the same configuration continues the same stretch.
      { from: '2026-11-10T08:00:00.000Z', to: '2026-12-01T00:00:00.000Z' },
    ]);
    expect(got[1]?.starts.map((s) => s.startedAt)).toEqual(['2026-11-01T08:00:00.000Z']);
    expect(got[1]?.periods).toEqual([{ from: '2026-11-01T08:00:00.000Z', to: '2026-11-10T08:00:00.000Z' }]);
    expect(got[1]?.configJson).toContain('"verify":{"amount":5');
    expect(got[0]?.starts[0]?.roles).toEqual(['intake', 'mailer', 'escalation']);
  });

  it('gives only the version in force at the start when nothing started inside the period', () => {
    const got = inForce(history(), '2026-11-21T00:00:00.000Z', '2026-11-22T00:00:00.000Z');
    expect(got.map((v) => [v.configDigest, v.periods])).toEqual([
      [configDigest(A), [{ from: '2026-11-21T00:00:00.000Z', to: '2026-11-22T00:00:00.000Z' }]],
    ]);
  });

  it('gives nothing for a period before the first start', () => {
    expect(inForce(history(), '2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z')).toEqual([]);
  });
});
