import { clearAlarmWithMail, lastProgress, raiseAlarmWithMail } from '../7-cases/alarm-store.js';
import { mailDomain } from '../7-cases/addresses.js';
import { claimProbe, probeFacts, probesOut } from '../7-cases/probe-store.js';
import { ALARMS, INTAKE_SYNCED, intakeVerdict, roundtripVerdict, type Verdict } from '../policy/deadman.js';
import type { RoleDeps } from './role.js';

/**
 * One look of the dead-man on the mail path (#15), run by the escalation role every
 * `deadman.check_seconds`:
 * 1. send the next probe when one is due (claimed in SQLite: one per interval, however many
 *    processes look);
 * 2. a probe past its window with none newer returned → raise 'mail-roundtrip'; a later probe
 *    back → clear it;
 * 3. no complete intake sync for `intake_stalled_after_seconds` → raise 'intake-stalled'; a
 *    sync again → clear it.
 * Each raise and clear writes its one mail to on-call with the alarm row (alarm-store.ts).
 * Returns the outbox ids written (to enqueue).
 */
export function checkDeadman(
  deps: Pick<RoleDeps, 'config' | 'db' | 'clock' | 'vault'>,
  watchingSince: Date,
): number[] {
  const { config, db, clock } = deps;
  const dm = config.deadman;
  const now = clock.now();
  const domain = mailDomain(config);
  const written: number[] = [];
  const probe = claimProbe(db, clock, deps.vault, {
    from: config.smtp.from_address,
    to: dm.probe_to === '' ? config.organisation.security_address : dm.probe_to,
    domain,
    intervalSeconds: dm.interval_seconds,
    windowSeconds: dm.window_seconds,
  });
  if (probe !== null) written.push(probe);
  const oncall = [config.escalation.oncall_address];
  const apply = (name: (typeof ALARMS)['roundtrip' | 'intakeStalled'], v: Verdict, detail: () => string) => {
    const id =
      v.state === 'lost'
        ? raiseAlarmWithMail(db, clock, name, v.since, { recipients: oncall, domain, detail: detail() })
        : clearAlarmWithMail(db, clock, name, { recipients: oncall, domain, detail: detail() });
    if (id !== null) written.push(id);
  };
  const roundtrip = roundtripVerdict(probeFacts(db), now);
  apply(ALARMS.roundtrip, roundtrip, () =>
    roundtrip.state === 'lost'
      ? `${String(probesOut(db))} probe(s) not back; the oldest was sent at ${roundtrip.since.toISOString()}, window ${String(dm.window_seconds)} s`
      : 'a probe came back',
  );
  const lastSync = lastProgress(db, INTAKE_SYNCED);
  const intake = intakeVerdict(lastSync, watchingSince, now, dm.intake_stalled_after_seconds);
  apply(ALARMS.intakeStalled, intake, () =>
    intake.state === 'lost'
      ? `no complete mailbox sync since ${intake.since.toISOString()} (limit ${String(dm.intake_stalled_after_seconds)} s)`
      : `mailbox synced at ${lastSync?.toISOString() ?? 'now'}`,
  );
  return written;
}
