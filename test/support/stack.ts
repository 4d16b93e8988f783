import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** What test/stack/stack.sh writes to <state>/stack.json after a successful start. */
export interface StackInfo {
  dir: string;
  domain: string;
  host: string;
  imapPort: number;
  smtpPort: number;
  lmtpPort: number;
  redisUrl: string;
  password: string;
  users: string[];
  /** Postfix submission: SMTP AUTH required, checked by Dovecot (#15). */
  submissionPort: number;
  /** The stack's test OAuth2 provider (test/stack/oauth2-server.mjs, #15). */
  oauth2: {
    tokenUrl: string;
    baseUrl: string;
    clientId: string;
    clientSecret: string;
    refreshToken: string;
    lifetimeSeconds: number;
  };
}

export const REPO = resolve(import.meta.dirname, '..', '..');
export const STACK_COMMAND = 'bash test/stack/stack.sh start';

export function stackDir(): string {
  return process.env.PSIRT_STACK_DIR ?? join(REPO, '.stack');
}

/**
 * How many e2e test files run at once, each worker on a stack of its own (stack 1 is
 * <repo>/.stack, stack N is PSIRT_STACK_INSTANCE=N, <repo>/.stack-N): PSIRT_E2E_WORKERS, default 2.
 */
export function e2eWorkers(): number {
  const n = Number(process.env.PSIRT_E2E_WORKERS ?? '2');
  return Number.isInteger(n) && n >= 1 && n <= 4 ? n : 2;
}

/** The state folder of stack `instance` (1 = the default stack). */
export function instanceDir(instance: number): string {
  return instance === 1 ? stackDir() : join(REPO, `.stack-${String(instance)}`);
}

/** The command that starts stack `instance`. */
export function instanceCommand(instance: number): string {
  return instance === 1 ? STACK_COMMAND : `PSIRT_STACK_INSTANCE=${String(instance)} ${STACK_COMMAND}`;
}

/** Reads the running stack's endpoints; throws with the command to run when there is none. */
export function readStack(dir = stackDir(), command = STACK_COMMAND): StackInfo {
  const file = join(dir, 'stack.json');
  if (!existsSync(file)) throw new Error(`no local stack (${file} missing): run \`${command}\` first`);
  return JSON.parse(readFileSync(file, 'utf8')) as StackInfo;
}

export function address(stack: StackInfo, user: string): string {
  return `${user}@${stack.domain}`;
}

/**
 * Environment for a psirt process on the test profile against the stack: the endpoints the
 * profile cannot know in advance, plus the test's own database file.
 */
export function stackEnv(stack: StackInfo, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PSIRT_ENV: 'test',
    PSIRT_IMAP__HOST: stack.host,
    PSIRT_IMAP__PORT: String(stack.imapPort),
    PSIRT_IMAP__USER: address(stack, 'security'),
    PSIRT_IMAP__PASSWORD: stack.password,
    PSIRT_SMTP__HOST: stack.host,
    PSIRT_SMTP__PORT: String(stack.smtpPort),
    PSIRT_REDIS__URL: stack.redisUrl,
    ...extra,
  };
}
