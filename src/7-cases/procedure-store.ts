import type { Clock } from '../core/clock.js';
import type { Db } from './db.js';

/**
 * The procedure history (#12, DESIGN.md invariant 9): which configuration — and so which written
 * procedure, deadline policy and calendar — the service ran with from each start on, so the
 * evidence of an audit period can show the procedure in force when each case was handled.
 */

/** What one start records; the caller (the composition root) derives it from the configuration. */
export interface ProcedureFacts {
  /** `configDigest(config)`: names the version; a changed secret does not change it. */
  configDigest: string;
  /** `policyOf(config)`: the digest every deadline records. */
  policyDigest: string;
  /** `createCalendar(config.calendar).id`: the digest every deadline records. */
  calendarDigest: string;
  /** The signing team key (the first of `pgp.keys`): uppercase fingerprint and expiry. */
  teamFingerprint: string;
  teamKeyExpires: Date | null;
  /** `canonicalJson(redactConfig(config))`: secrets are "[redacted]", never their values. */
  configJson: string;
  /** The roles this process started (`psirt start --role …`). */
  roles: readonly string[];
  /** The package version that ran. */
  version: string;
}

export interface RecordedStart {
  startId: number;
  /** True when this start was the first with its configuration digest. */
  isNew: boolean;
}

/**
 * Records one start: the procedure version when its digest is new, and the start. One IMMEDIATE
 * transaction, so a version never exists without its first start and two processes starting at
 * once (`--role` per process) cannot both claim to be first.
 */
export function recordProcedureStart(db: Db, clock: Clock, facts: ProcedureFacts): RecordedStart {
  const at = clock.now().toISOString();
  return db
    .transaction((): RecordedStart => {
      const inserted = db
        .prepare(
          `INSERT OR IGNORE INTO procedure_versions (config_digest, first_started_at, policy_digest,
             calendar_digest, team_fingerprint, team_key_expires, config_json)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          facts.configDigest,
          at,
          facts.policyDigest,
          facts.calendarDigest,
          facts.teamFingerprint,
          facts.teamKeyExpires?.toISOString() ?? null,
          facts.configJson,
        );
      const start = db
        .prepare(
          'INSERT INTO procedure_starts (started_at, config_digest, roles, version) VALUES (?, ?, ?, ?)',
        )
        .run(at, facts.configDigest, JSON.stringify(facts.roles), facts.version);
      return { startId: Number(start.lastInsertRowid), isNew: inserted.changes === 1 };
    })
    .immediate();
}

export interface ProcedureStart {
  id: number;
  startedAt: string;
  roles: string[];
  version: string;
}

/** A stretch of time (ISO instants, `from` inclusive, `to` exclusive) a version was in force. */
export interface InForcePeriod {
  from: string;
  to: string;
}

/** One procedure version used in a period, with its starts and when it was in force. */
export interface ProcedureVersionInForce {
  configDigest: string;
  firstStartedAt: string;
  policyDigest: string;
  calendarDigest: string;
  teamFingerprint: string;
  teamKeyExpires: string | null;
  /** The redacted configuration, canonical JSON: the documents of this version render from it. */
  configJson: string;
  /** The starts that used it: the one in force at `from` (if before it) and those inside. */
  starts: ProcedureStart[];
  /** When it was in force, clipped to the period; adjacent starts of one version are merged. */
  periods: InForcePeriod[];
}

interface StartRow {
  id: number;
  started_at: string;
  config_digest: string;
  roles: string;
  version: string;
}

/** A `procedure_versions` row as stored. */
export interface ProcedureVersionRow {
  config_digest: string;
  first_started_at: string;
  policy_digest: string;
  calendar_digest: string;
  team_fingerprint: string;
  team_key_expires: string | null;
  /** The redacted configuration as it ran (secrets "[redacted]"). */
  config_json: string;
}

/**
 * The procedure versions in force during [from, to): the version of the last start before `from`
 * (in force when the period began) and that of every start inside it, in order of first use. A
 * start's version is in force from that start until the next start of the service. NB! With one
 * process per role, each process start counts; the last one wins, as for a restart.
 */
export function procedureVersionsInForce(db: Db, from: Date, to: Date): ProcedureVersionInForce[] {
  const fromIso = from.toISOString();
  const toIso = to.toISOString();
  if (fromIso >= toIso) return [];
  const before = db
    .prepare('SELECT * FROM procedure_starts WHERE started_at < ? ORDER BY started_at DESC, id DESC LIMIT 1')
    .get(fromIso) as StartRow | undefined;
  const inside = db
    .prepare(
      'SELECT * FROM procedure_starts WHERE started_at >= ? AND started_at < ? ORDER BY started_at, id',
    )
    .all(fromIso, toIso) as StartRow[];
  const starts = before === undefined ? inside : [before, ...inside];
  const versions = new Map<string, ProcedureVersionInForce>();
  for (const [i, s] of starts.entries()) {
    let v = versions.get(s.config_digest);
    if (v === undefined) {
      v = versionOf(db, s.config_digest);
      versions.set(s.config_digest, v);
    }
    v.starts.push({
      id: s.id,
      startedAt: s.started_at,
      roles: JSON.parse(s.roles) as string[],
      version: s.version,
    });
    const period = {
      from: s.started_at < fromIso ? fromIso : s.started_at,
      to: starts[i + 1]?.started_at ?? toIso,
    };
    const last = v.periods.at(-1);
    if (last !== undefined && last.to === period.from) last.to = period.to;
    else if (period.from < period.to) v.periods.push(period);
  }
  return [...versions.values()];
}

function versionOf(db: Db, digest: string): ProcedureVersionInForce {
  const row = db.prepare('SELECT * FROM procedure_versions WHERE config_digest = ?').get(digest) as
    ProcedureVersionRow | undefined;
  // procedure_starts.config_digest REFERENCES procedure_versions: only a damaged file lacks it.
  if (row === undefined) throw new Error(`procedure_starts names the unknown version ${digest}`);
  return {
    configDigest: row.config_digest,
    firstStartedAt: row.first_started_at,
    policyDigest: row.policy_digest,
    calendarDigest: row.calendar_digest,
    teamFingerprint: row.team_fingerprint,
    teamKeyExpires: row.team_key_expires,
    configJson: row.config_json,
    starts: [],
    periods: [],
  };
}
