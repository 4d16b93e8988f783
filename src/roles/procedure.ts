import type { Calendar } from '../calendar/calendar.js';
import { canonicalJson, configDigest } from '../config/digest.js';
import { redactConfig } from '../config/redact.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { Db } from '../7-cases/db.js';
import { recordProcedureStart, type ProcedureFacts, type RecordedStart } from '../7-cases/procedure-store.js';
import type { TeamKey } from '../pgp/keyring.js';
import { policyOf } from '../policy/deadlines.js';

/** What a start knows beyond the configuration: the unlocked keys, the calendar, what runs. */
export interface StartContext {
  teamKeys: readonly TeamKey[];
  calendar: Pick<Calendar, 'id'>;
  roles: readonly string[];
  version: string;
}

/**
 * The procedure facts of a start (#12 procedure history), from the very configuration objects
 * the service enforces (DESIGN.md invariant 9). The stored configuration is the redacted one: a
 * secret never reaches the database through it.
 */
export function procedureFacts(config: Config, ctx: StartContext): ProcedureFacts {
  // The schema refuses an empty pgp.keys, so a started service always has a signing key.
  const signing = ctx.teamKeys[0];
  if (signing === undefined) throw new Error('pgp.keys: no team key is loaded, nothing signs');
  return {
    configDigest: configDigest(config),
    policyDigest: policyOf(config),
    calendarDigest: ctx.calendar.id,
    teamFingerprint: signing.fingerprint,
    teamKeyExpires: signing.expires,
    configJson: canonicalJson(redactConfig(config)),
    roles: ctx.roles,
    version: ctx.version,
  };
}

/**
 * Records this start in the procedure history and logs one line: the digest and whether the
 * version is new — never the configuration itself.
 */
export function recordStart(
  db: Db,
  clock: Clock,
  log: Logger,
  config: Config,
  ctx: StartContext,
): RecordedStart & { configDigest: string } {
  const facts = procedureFacts(config, ctx);
  const recorded = recordProcedureStart(db, clock, facts);
  log.info(
    { event: 'procedure.recorded', digest: facts.configDigest, new: recorded.isNew },
    recorded.isNew ? 'new procedure version recorded' : 'procedure version recorded',
  );
  return { ...recorded, configDigest: facts.configDigest };
}
