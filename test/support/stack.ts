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

/** Reads the running stack's endpoints; throws with the command to run when there is none. */
export function readStack(): StackInfo {
  const file = join(stackDir(), 'stack.json');
  if (!existsSync(file)) throw new Error(`no local stack (${file} missing): run \`${STACK_COMMAND}\` first`);
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
