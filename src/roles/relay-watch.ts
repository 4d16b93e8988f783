import { clearAlarmWithMail, openAlarm, raiseAlarmWithMail } from '../7-cases/alarm-store.js';
import { mailDomain, securityStaff } from '../7-cases/addresses.js';
import { describeError } from '../core/errors.js';
import type { RelayWatch } from '../8-outbox/deliver.js';
import { relayProblem, type SmtpTransport } from '../8-outbox/smtp-transport.js';
import { ALARMS } from '../policy/deadman.js';
import type { RoleDeps } from './role.js';

export interface RunningRelayWatch extends RelayWatch {
  stop(): void;
}

/**
 * The mailer's watch on the primary SMTP relay (#15):
 * 1. a send that finds the relay unreachable (refused, timed out, no greeting) or refusing our
 *    login (EAUTH, an OAuth2 token refused or not to be had) starts the watch:
 *    every `mailer.relay_check_seconds` the relay is tried (`transport.verify()`);
 * 2. still unreachable `mailer.relay_down_after_seconds` after the first failure → the
 *    'relay-down' alarm with one alert to the security staff and on-call (its row goes by the
 *    second route when configured);
 * 3. the relay answers (a verify or any send) → the alarm is cleared with one recovery note, and
 *    `recovered()` sends every waiting mail now (promote delayed jobs, reconcile).
 * An alarm left open by an earlier process is watched from the start, so it is cleared too.
 */
export function startRelayWatch(
  deps: Pick<RoleDeps, 'config' | 'db' | 'clock' | 'log'>,
  transport: SmtpTransport,
  hooks: { enqueue(ids: number[]): Promise<void>; recovered(): Promise<void> },
): RunningRelayWatch {
  const { config, db, clock, log } = deps;
  const where = `${config.smtp.host}:${String(config.smtp.port)}`;
  const recipients = [...securityStaff(config), config.escalation.oncall_address];
  const domain = mailDomain(config);
  const state: { downSince: Date | null; lastError: string; timer: NodeJS.Timeout | null; busy: boolean } = {
    downSince: null,
    lastError: '',
    timer: null,
    busy: false,
  };

  const downSince = (): Date | null => state.downSince;

  const enqueue = async (id: number | null): Promise<void> => {
    if (id === null) return;
    try {
      await hooks.enqueue([id]);
    } catch (err) {
      // Not lost: the row is in SQLite and the reconciler enqueues it.
      log.warn({ event: 'relay.enqueue-failed', err: describeError(err) }, 'alert enqueue failed');
    }
  };

  const recover = async (): Promise<void> => {
    const since = state.downSince;
    if (since === null) return;
    state.downSince = null;
    if (state.timer !== null) clearInterval(state.timer);
    state.timer = null;
    const seconds = Math.round((clock.now().getTime() - since.getTime()) / 1000);
    log.info({ event: 'relay.recovered', relay: where, downSeconds: seconds }, 'SMTP relay answers again');
    await enqueue(
      clearAlarmWithMail(db, clock, ALARMS.relayDown, {
        recipients,
        domain,
        detail: `${where} answers again after ${String(seconds)} s`,
      }),
    );
    try {
      await hooks.recovered();
    } catch (err) {
      log.warn(
        { event: 'relay.promote-failed', err: describeError(err) },
        'waiting mail not promoted; the reconciler sends it',
      );
    }
  };

  const check = async (): Promise<void> => {
    if (state.busy || state.downSince === null) return;
    state.busy = true;
    try {
      await transport.verify();
      await recover();
    } catch (err) {
      // verify() logs in too: a refused login keeps the relay down (#15), named without its text.
      state.lastError = relayProblem(err);
      // Read again: a send may have seen the relay answer while verify() was waiting.
      const since = downSince();
      if (
        since !== null &&
        clock.now().getTime() - since.getTime() >= config.mailer.relay_down_after_seconds * 1000
      ) {
        const id = raiseAlarmWithMail(db, clock, ALARMS.relayDown, since, {
          recipients,
          domain,
          detail: `${where} unusable since ${since.toISOString()}: ${state.lastError}`,
        });
        if (id !== null) log.error({ event: 'relay.down', relay: where }, 'SMTP relay down: staff alerted');
        await enqueue(id);
      }
    } finally {
      state.busy = false;
    }
  };

  const watch = (since: Date): void => {
    if (state.downSince !== null) return;
    state.downSince = since;
    state.timer = setInterval(() => void check(), config.mailer.relay_check_seconds * 1000);
  };

  const open = openAlarm(db, ALARMS.relayDown);
  if (open !== null) watch(new Date(open.raised_at));

  return {
    answered() {
      if (state.downSince !== null) void recover();
    },
    unreachable(err) {
      if (state.downSince === null)
        log.warn(
          { event: 'relay.unreachable', relay: where, err: relayProblem(err) },
          'SMTP relay unreachable; watching',
        );
      watch(clock.now());
    },
    stop() {
      if (state.timer !== null) clearInterval(state.timer);
      state.timer = null;
    },
  };
}
