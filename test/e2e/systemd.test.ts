import { workerStack } from '../support/worker-stack.js';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { listenNotifySocket, type NotifySocket } from '../support/notify-socket.js';
import { startService, type RunningService } from '../support/service.js';

const stack = workerStack();

describe('psirt start under a service manager (Type=notify, WatchdogSec, #15)', () => {
  let socket: NotifySocket | undefined;
  let service: RunningService | undefined;
  afterAll(async () => {
    await service?.stop();
    socket?.close();
  });

  it('says READY once its roles run, pings the watchdog from its event loop, and STOPPING on SIGTERM', async () => {
    socket = await listenNotifySocket();
    const s = socket;
    // WatchdogSec=2s: a ping at least every second.
    service = await startService(stack, { NOTIFY_SOCKET: s.path, WATCHDOG_USEC: '2000000' });
    await eventually(() => (s.messages.some((m) => m.includes('READY=1')) ? true : undefined), {
      timeoutMs: 15_000,
      what: 'READY=1',
    });
    expect(s.messages.find((m) => m.includes('READY=1'))).toMatch(
      /STATUS=running: intake, mailer, escalation, retention/,
    );
    await eventually(() => (s.messages.filter((m) => m === 'WATCHDOG=1').length >= 2 ? true : undefined), {
      timeoutMs: 15_000,
      what: 'two watchdog pings',
    });
    expect(await service.stop()).toBe(0);
    await eventually(() => (s.messages.includes('STOPPING=1') ? true : undefined), {
      timeoutMs: 10_000,
      what: 'STOPPING=1',
    });
  });
});
