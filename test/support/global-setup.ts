import { connect } from 'node:net';
import type { TestProject } from 'vitest/node';
import { readStack, STACK_COMMAND, type StackInfo } from './stack.js';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

function probe(host: string, port: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect({ host, port, timeout: 3000 });
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`timeout connecting to ${host}:${port}`));
    });
    socket.once('error', reject);
  });
}

/** Fails in seconds, naming the command to run, when the local stack is not up. */
export default async function setup(project: TestProject): Promise<void> {
  const stack = readStack();
  const redis = new URL(stack.redisUrl);
  const endpoints: [string, number][] = [
    ['imap', stack.imapPort],
    ['smtp', stack.smtpPort],
    ['redis', Number(redis.port || 6379)],
  ];
  for (const [name, port] of endpoints) {
    try {
      await probe(stack.host, port);
    } catch (err) {
      throw new Error(
        `local stack ${name} is not answering on ${stack.host}:${port} (${(err as Error).message}); run \`${STACK_COMMAND}\``,
        { cause: err },
      );
    }
  }
  project.provide('stack', stack);
}
