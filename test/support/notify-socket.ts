import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './eventually.js';

/**
 * A stand-in for the service manager's end of sd_notify(3): a real AF_UNIX datagram socket
 * (Node has none, so a few lines of Python hold it) that collects every message sent to it.
 * `systemd-notify` waits on a barrier (a passed file descriptor the manager closes): Python's
 * recv() drops the descriptor, which closes it, so the helper returns as under systemd.
 */
export interface NotifySocket {
  path: string;
  /** Every message received so far (newlines inside one shown as "|"), read live. */
  readonly messages: string[];
  close(): void;
}

const LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    data = s.recv(65536)
    print(data.decode().replace("\\n", "|"), flush=True)
`;

export async function listenNotifySocket(): Promise<NotifySocket> {
  const path = join(mkdtempSync(join(tmpdir(), 'psirt-notify-')), 'notify.sock');
  const child = spawn('python3', ['-c', LISTENER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buffer = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
  });
  await eventually(() => (lines[0] === 'listening' ? true : undefined), {
    timeoutMs: 10_000,
    what: 'notify socket',
  });
  return {
    path,
    get messages() {
      return lines.slice(1);
    },
    close: () => child.kill(),
  };
}
