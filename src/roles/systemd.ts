import { execFile } from 'node:child_process';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';

/**
 * The service manager's notification protocol (sd_notify(3)) for the systemd unit in
 * `deploy/systemd/` (Type=notify, WatchdogSec=): READY=1 once the roles run, WATCHDOG=1 from the
 * event loop while it turns, STOPPING=1 on a signal. Node has no AF_UNIX datagram sockets, so the
 * messages go through `systemd-notify`, which waits until the manager has read each one (its
 * barrier); the unit sets NotifyAccess=all for that helper process. Without NOTIFY_SOCKET in the
 * environment (not started by systemd) every call does nothing.
 */
export interface Notifier {
  ready(status: string): void;
  /** Pings the watchdog; a no-op when the unit sets no WatchdogSec. */
  watchdog(): void;
  stopping(): void;
  /** How often `watchdog()` must be called (half of WatchdogSec), or null without a watchdog. */
  readonly watchdogEveryMs: number | null;
}

export function systemdNotifier(env: NodeJS.ProcessEnv, log: Logger, command = 'systemd-notify'): Notifier {
  const socket = env.NOTIFY_SOCKET;
  const usec = Number(env.WATCHDOG_USEC);
  // WATCHDOG_PID, when set, names the process the watchdog is for: only that one pings.
  const forUs = env.WATCHDOG_PID === undefined || env.WATCHDOG_PID === String(process.pid);
  const watchdogEveryMs =
    socket && forUs && Number.isFinite(usec) && usec > 0 ? Math.max(500, usec / 2000) : null;
  const send = (args: string[]): void => {
    if (!socket) return;
    execFile(command, args, { timeout: 10_000, env: { ...env, NOTIFY_SOCKET: socket } }, (err) => {
      if (err) log.warn({ event: 'systemd.notify-failed', err: describeError(err) }, 'systemd-notify failed');
    });
  };
  return {
    watchdogEveryMs,
    ready: (status) => send(['--ready', `--pid=${String(process.pid)}`, `--status=${status}`]),
    watchdog: () => {
      if (watchdogEveryMs !== null) send(['WATCHDOG=1']);
    },
    stopping: () => send(['STOPPING=1']),
  };
}
