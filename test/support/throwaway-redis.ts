import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from './eventually.js';
import { freePort } from './ports.js';

/**
 * A redis-server of one test on a free loopback port, keeping nothing on disk: stopping it
 * disturbs no other test. `stop()` waits for it to exit; `start()` brings it back on the port.
 */
export interface ThrowawayRedis {
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  kill(): void;
}

export async function throwawayRedis(): Promise<ThrowawayRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'psirt-redis-'));
  let child: ChildProcess | undefined;
  const answers = async (): Promise<true> => {
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      return true;
    } finally {
      probe.disconnect();
    }
  };
  const r: ThrowawayRedis = {
    url,
    async start() {
      child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
        { stdio: 'ignore' },
      );
      await eventually(answers, { what: `throwaway redis-server on ${String(port)}` });
    },
    async stop() {
      const c = child;
      if (c === undefined || c.exitCode !== null) return;
      c.kill('SIGTERM');
      await once(c, 'exit');
    },
    kill() {
      child?.kill('SIGKILL');
    },
  };
  await r.start();
  return r;
}
