import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { systemdNotifier } from '../../../src/roles/systemd.js';
import { createLogger } from '../../../src/core/log.js';
import { eventually } from '../../support/eventually.js';
import { listenNotifySocket, type NotifySocket } from '../../support/notify-socket.js';
import { REPO } from '../../support/stack.js';

const UNIT = join(REPO, 'deploy', 'systemd', 'psirt-inbox.service');
const text = readFileSync(UNIT, 'utf8');

/** `systemd-analyze verify` on a copy (it resolves the unit by its own name in that folder). */
function verify(unitText: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'psirt-unit-'));
  const file = join(dir, 'psirt-inbox.service');
  writeFileSync(file, unitText);
  const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/** Every value of `key=` in the unit (systemd allows a key several times). */
const values = (key: string): string[] =>
  [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => (m[1] ?? '').trim());

describe('the systemd unit (#15)', () => {
  it('passes systemd-analyze verify with no warning at all', () => {
    // The unit names /usr/bin/node, where Debian's and NodeSource's packages put it.
    const unit = text.replace('/usr/bin/node ', `${process.execPath} `);
    expect(verify(unit)).toEqual({ status: 0, output: '' });
  });

  it('is caught by verify when a key is misspelt or the program is missing (the check can fail)', () => {
    expect(verify(text.replace('ProtectHome=yes', 'ProtectHom=yes')).output).toMatch(
      /Unknown key 'ProtectHom'/,
    );
    expect(verify(text.replace('/usr/bin/node ', '/usr/bin/no-such-node ')).status).not.toBe(0);
  });

  it('runs unprivileged, read-only, restarted on failure, watched, with state and secrets directories', () => {
    expect(values('User')).toEqual(['psirt']);
    expect(values('ProtectSystem')).toEqual(['strict']);
    expect(values('NoNewPrivileges')).toEqual(['yes']);
    expect(values('Restart')).toEqual(['on-failure']);
    expect(values('Type')).toEqual(['notify']);
    expect(values('WatchdogSec')).toEqual(['60s']);
    expect(values('StateDirectory')).toEqual(['psirt']);
    expect(values('CapabilityBoundingSet')).toEqual(['']);
    // Secrets come as credentials (files in %d), never as values in the environment.
    expect(values('LoadCredential').length).toBeGreaterThanOrEqual(3);
    for (const env of values('Environment'))
      expect(env).not.toMatch(/(PASSWORD|PASSPHRASE|TOKEN|SECRET)=(?!%d\/)/);
  });

  it('keeps the exposure score of systemd-analyze security low (≤ 2.0 of 10)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psirt-unit-'));
    const file = join(dir, 'psirt-inbox.service');
    copyFileSync(UNIT, file);
    const out = execFileSync('systemd-analyze', ['security', '--offline=true', '--threshold=20', file], {
      encoding: 'utf8',
    });
    expect(out).toMatch(/Overall exposure level for psirt-inbox\.service: ([01]\.\d|2\.0) /);
  });
});

describe('sd_notify from the service (#15)', () => {
  let socket: NotifySocket | undefined;
  afterAll(() => socket?.close());
  const log = createLogger('silent');

  it('sends READY, watchdog pings and STOPPING to NOTIFY_SOCKET through systemd-notify', async () => {
    socket = await listenNotifySocket();
    const n = systemdNotifier({ NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '4000000' }, log);
    expect(n.watchdogEveryMs).toBe(2000);
    n.ready('running: intake');
    const s = socket;
    await eventually(() => (s.messages.some((m) => m.includes('READY=1')) ? true : undefined), {
      timeoutMs: 10_000,
      what: 'READY=1',
    });
    n.watchdog();
    n.stopping();
    await eventually(() => (s.messages.some((m) => m === 'STOPPING=1') ? true : undefined), {
      timeoutMs: 10_000,
      what: 'STOPPING=1',
    });
    expect(s.messages).toContain('WATCHDOG=1');
    expect(s.messages.find((m) => m.includes('READY=1'))).toMatch(/STATUS=running: intake/);
  });

  it('does nothing outside systemd, and pings no watchdog meant for another process', () => {
    expect(systemdNotifier({}, log).watchdogEveryMs).toBeNull();
    expect(
      systemdNotifier({ NOTIFY_SOCKET: '/nonexistent', WATCHDOG_USEC: '4000000', WATCHDOG_PID: '1' }, log)
        .watchdogEveryMs,
    ).toBeNull();
  });
});
