/**
 * The demo behind `npm run demo` (scripts/demo.sh starts the stack and builds first). It runs the
 * real CLI against the local stack with the test profile and a demo database in .stack/, then
 * plays a researcher: a report signed and encrypted with the real gpg (and their key in an
 * Autocrypt header) is mailed through Postfix to security@. It shows the case that opens and the
 * acknowledgment the researcher receives, decrypted with their key.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { address, readStack, REPO, stackEnv } from '../test/support/stack.js';

const once = process.argv.includes('--once');
const stack = readStack();
const env = {
  ...process.env,
  ...stackEnv(stack, { PSIRT_DATABASE__PATH: join(stack.dir, 'demo.db'), PSIRT_LOG__LEVEL: 'info' }),
};
const cli = join(REPO, 'dist', 'workers', 'cli.js');
const KEYS = join(REPO, 'test', 'fixtures', 'keys');
const say = (s: string): void => void process.stdout.write(`\n\x1b[1m== ${s}\x1b[0m\n`);
const psirt = (args: string[]): string => execFileSync(process.execPath, [cli, ...args], { env }).toString();

/** Runs the real gpg in a throwaway home holding reporter1's key pair and the team's public key. */
function gpg(args: string[], input?: string | Buffer): Buffer {
  const home = mkdtempSync(join(tmpdir(), 'psirt-demo-gpg-'));
  try {
    const genv = { ...process.env, GNUPGHOME: home };
    for (const k of ['reporter1.sec.asc', 'team.pub.asc']) {
      execFileSync('gpg', ['--batch', '--quiet', '--import', join(KEYS, k)], { env: genv, stdio: 'ignore' });
    }
    return execFileSync('gpg', ['--batch', '--quiet', '--trust-model', 'always', ...args], {
      env: genv,
      input: input ?? '',
      stdio: ['pipe', 'pipe', 'ignore'],
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

say('psirt migrate, then psirt doctor');
try {
  execFileSync(process.execPath, [cli, 'migrate'], { env, stdio: 'inherit' });
  execFileSync(process.execPath, [cli, 'doctor'], { env, stdio: 'inherit' });
} catch {
  process.stderr.write('doctor found a problem (see ✗ above); the demo cannot go on\n');
  process.exit(1);
}

say('psirt start (intake, mailer, escalation and retention in one process; its log lines are pino JSON)');
const service = spawn(process.execPath, [cli, 'start'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
const stopped = new Promise<number | null>((resolve) => service.on('exit', resolve));
process.on('SIGINT', () => service.kill('SIGTERM'));
await new Promise<void>((resolve, reject) => {
  service.stdout.on('data', (d: Buffer) => {
    process.stdout.write(d);
    if (d.toString().includes('"service.started"')) resolve();
  });
  service.once('exit', () => reject(new Error('the service exited during start-up')));
});

const messageId = `${randomUUID()}@reporter1.psirt.test`;
say(`a researcher mails a signed, encrypted report to ${address(stack, 'security')} through Postfix`);
const keydata = gpg(['--export', 'reporter1@psirt.test']).toString('base64');
const transport = nodemailer.createTransport({
  host: stack.host,
  port: stack.smtpPort,
  secure: false,
  ignoreTLS: true,
});
await transport.sendMail({
  from: `Reporter One <${address(stack, 'reporter1')}>`,
  to: address(stack, 'security'),
  subject: 'Remote code execution in the firmware updater',
  messageId: `<${messageId}>`,
  headers: { Autocrypt: `addr=${address(stack, 'reporter1')}; keydata=${keydata}` },
  text: gpg(
    [
      '--armor',
      '--sign',
      '--encrypt',
      '--local-user',
      'reporter1@psirt.test',
      '--recipient',
      'security@psirt.test',
    ],
    'The updater accepts unsigned images over plain HTTP.\nProof of concept: serve any image as /fw/latest.bin.\n',
  ).toString(),
});
transport.close();
process.stdout.write(`sent <${messageId}>\n`);

/** The acknowledgment in reporter1's mailbox (In-Reply-To our report), once it arrived. */
async function waitForAck(timeoutMs: number): Promise<Buffer | undefined> {
  const imap = new ImapFlow({
    host: stack.host,
    port: stack.imapPort,
    secure: false,
    doSTARTTLS: false,
    auth: { user: address(stack, 'reporter1'), pass: stack.password },
    logger: false,
  });
  imap.on('error', () => undefined);
  await imap.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const lock = await imap.getMailboxLock('INBOX');
      try {
        const uids = await imap.search({ header: { 'in-reply-to': messageId } }, { uid: true });
        const uid = Array.isArray(uids) ? uids[0] : undefined;
        if (uid !== undefined) {
          const msg = await imap.fetchOne(String(uid), { source: true }, { uid: true });
          if (msg && msg.source) return msg.source;
        }
      } finally {
        lock.release();
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return undefined;
  } finally {
    await imap.logout();
  }
}

const t0 = Date.now();
const ack = await waitForAck(30_000);
if (ack === undefined) {
  process.stdout.write(`no acknowledgment within 30 s: see the log above and ${stack.dir}/logs/\n`);
} else {
  const caseId = /\[([A-Z]+-\d{4}-\d+)\]/.exec(ack.toString('latin1'))?.[1] ?? '';
  say(`the case (psirt cases show ${caseId})`);
  process.stdout.write(psirt(['cases', 'show', caseId]));
  say(`the acknowledgment in reporter1's mailbox, ${Date.now() - t0} ms after sending, as delivered`);
  const raw = ack.toString('latin1');
  process.stdout.write(
    `${raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r/g, '')}\n  …PGP/MIME encrypted body…\n`,
  );
  say("decrypted with the researcher's key (gpg)");
  const armored = /-----BEGIN PGP MESSAGE-----[\s\S]+?-----END PGP MESSAGE-----/.exec(raw)?.[0] ?? '';
  const inner = gpg(['--decrypt'], armored).toString('latin1');
  const body = inner.slice(inner.search(/\r?\n\r?\n/)).replace(/\s+/g, '');
  process.stdout.write(`${Buffer.from(body, 'base64').toString('utf8')}\n`);
}

if (once) {
  service.kill('SIGTERM');
} else {
  say('the service keeps running; Ctrl-C stops it (the stack stays up: npm run stack stop)');
}
const code = await stopped;
process.exitCode = ack === undefined ? 1 : (code ?? 1);
