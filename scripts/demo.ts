/**
 * The demo behind `npm run demo` (scripts/demo.sh starts the stack first). It runs the real CLI
 * against the local stack with the test profile and a demo database in .stack/, then plays a
 * researcher: a gpg-encrypted report is mailed through Postfix to security@.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { readStack, REPO, stackEnv, address } from '../test/support/stack.js';

const once = process.argv.includes('--once');
const stack = readStack();
const env = {
  ...process.env,
  ...stackEnv(stack, { PSIRT_DATABASE__PATH: join(stack.dir, 'demo.db'), PSIRT_LOG__LEVEL: 'info' }),
};
const cli = join(REPO, 'dist', 'workers', 'cli.js');
const say = (s: string): void => void process.stdout.write(`\n\x1b[1m== ${s}\x1b[0m\n`);

say('psirt migrate, then psirt doctor');
try {
  execFileSync(process.execPath, [cli, 'migrate'], { env, stdio: 'inherit' });
  execFileSync(process.execPath, [cli, 'doctor'], { env, stdio: 'inherit' });
} catch {
  process.stderr.write('doctor found a problem (see ✗ above); the demo cannot go on\n');
  process.exit(1);
}

say('psirt start (all roles in one process; logs below are pino JSON)');
const service = spawn(process.execPath, [cli, 'start'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
const stopped = new Promise<number | null>((resolve) => service.on('exit', resolve));
process.on('SIGINT', () => service.kill('SIGTERM'));

/** Encrypts to the team key with the real gpg, as a researcher would. */
function encryptForTeam(text: string): string {
  const home = mkdtempSync(join(tmpdir(), 'psirt-demo-gpg-'));
  try {
    execFileSync('gpg', ['--batch', '--quiet', '--import', join(REPO, 'test/fixtures/keys/team.pub.asc')], {
      env: { ...process.env, GNUPGHOME: home },
      stdio: 'ignore',
    });
    return execFileSync(
      'gpg',
      ['--batch', '--armor', '--trust-model', 'always', '--encrypt', '--recipient', 'security@psirt.test'],
      { env: { ...process.env, GNUPGHOME: home }, input: text },
    ).toString();
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

const messageId = `<${randomUUID()}@reporter1.psirt.test>`;
say(`a researcher mails an encrypted report to ${address(stack, 'security')} through Postfix`);
const transport = nodemailer.createTransport({
  host: stack.host,
  port: stack.smtpPort,
  secure: false,
  ignoreTLS: true,
});
await transport.sendMail({
  from: address(stack, 'reporter1'),
  to: address(stack, 'security'),
  subject: 'Remote code execution in the firmware updater',
  messageId,
  text: encryptForTeam('The updater accepts unsigned images over HTTP. PoC attached in a later mail.\n'),
});
transport.close();
process.stdout.write(`sent ${messageId}\n`);

const imap = new ImapFlow({
  host: stack.host,
  port: stack.imapPort,
  secure: false,
  doSTARTTLS: false,
  auth: { user: address(stack, 'security'), pass: stack.password },
  logger: false,
});
imap.on('error', () => undefined);
await imap.connect();
/** The folder of security@ that holds the report now, or undefined. */
async function whereIsReport(): Promise<string | undefined> {
  for (const folder of ['INBOX', 'Processed', 'Quarantine']) {
    const lock = await imap.getMailboxLock(folder);
    try {
      const uids = await imap.search({ header: { 'message-id': messageId } }, { uid: true });
      if (Array.isArray(uids) && uids.length > 0) return folder;
    } finally {
      lock.release();
    }
  }
  return undefined;
}
const deadline = Date.now() + 15_000;
let folder = await whereIsReport();
while (folder === undefined && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 250));
  folder = await whereIsReport();
}
await imap.logout();
process.stdout.write(
  folder === undefined
    ? 'the report did not arrive within 15 s: see .stack/logs/\n'
    : `the report is in security@/${folder}\n`,
);
process.stdout.write(
  'the intake role is not built yet (issue #3): no case is opened and no acknowledgment is sent by this version\n',
);

if (once) {
  service.kill('SIGTERM');
} else {
  say('the service keeps running; Ctrl-C stops it (the stack stays up: npm run stack stop)');
}
process.exitCode = (await stopped) ?? 1;
