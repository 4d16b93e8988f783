import { connect } from 'node:net';
import type { TestProject } from 'vitest/node';
import { e2eWorkers, instanceCommand, instanceDir, readStack, type StackInfo } from './stack.js';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
    /** e2e: one stack per worker (test/support/worker-stack.ts picks this worker's). */
    stacks: StackInfo[];
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

/** Fails in seconds, naming the command to run, when a local stack is not up. */
async function checkedStack(instance: number): Promise<StackInfo> {
  const command = instanceCommand(instance);
  const stack = readStack(instanceDir(instance), command);
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
        `local stack ${name} is not answering on ${stack.host}:${port} (${(err as Error).message}); run \`${command}\``,
        { cause: err },
      );
    }
  }
  return stack;
}

/**
 * Integration tests share stack 1. e2e test files run `e2eWorkers()` at a time, each worker on
 * its own stack (they move mail in the same mailboxes and stop Postfix or Redis).
 */
export default async function setup(project: TestProject): Promise<void> {
  const first = await checkedStack(1);
  project.provide('stack', first);
  const stacks = [first];
  if (project.name === 'e2e') for (let i = 2; i <= e2eWorkers(); i++) stacks.push(await checkedStack(i));
  project.provide('stacks', stacks);
}
