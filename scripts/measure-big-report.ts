/**
 * Measures the service's memory while it processes one large report (issue #3 acceptance; the
 * benchmark of issue #6 reuses it). Needs the local stack (npm run stack start) and a build.
 * Starts `psirt start` on a fresh database, samples its RSS from /proc while a report with one
 * N MB attachment (default 20) goes through Postfix → intake → case → acknowledgment and staff
 * notifications, and prints the peak RSS growth over the idle service as a multiple of N.
 *   node --import tsx scripts/measure-big-report.ts [MB]
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import nodemailer from 'nodemailer';
import { address, readStack, REPO, stackEnv } from '../test/support/stack.js';

const mb = Number(process.argv[2] ?? 20);
const stack = readStack();
const workDir = mkdtempSync(join(tmpdir(), 'psirt-measure-'));
const dbPath = join(workDir, 'psirt.db');
const env = {
  ...process.env,
  ...stackEnv(stack, { PSIRT_DATABASE__PATH: dbPath, PSIRT_LOG__LEVEL: 'info' }),
};
const child = spawn(process.execPath, [join(REPO, 'dist', 'workers', 'cli.js'), 'start'], {
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
let log = '';
child.stdout.on('data', (d: Buffer) => (log += d.toString()));
const rss = (): number =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid ?? 0}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
while (!log.includes('"service.started"')) await sleep(50);
await sleep(3000); // let start-up garbage settle
const idle = rss();
let peak = idle;
const sampler = setInterval(() => (peak = Math.max(peak, rss())), 5);
const messageId = `${randomUUID()}@measure.psirt.test`;
const transport = nodemailer.createTransport({
  host: stack.host,
  port: stack.smtpPort,
  secure: false,
  ignoreTLS: true,
});
const t0 = Date.now();
await transport.sendMail({
  from: address(stack, 'reporter1'),
  to: address(stack, 'security'),
  subject: `${mb} MB report`,
  messageId: `<${messageId}>`,
  text: 'Memory dump attached.',
  attachments: [{ filename: 'dump.bin', content: randomBytes(mb * 1024 * 1024) }],
});
transport.close();
const db = new Database(dbPath, { readonly: true, fileMustExist: false });
for (;;) {
  await sleep(200);
  // The acknowledgment and the staff notification (#16: one mail to all staff with keys, one to
  // those without), every row of the case sent.
  const sent = db
    .prepare(
      `SELECT count(*) AS n, sum(o.state <> 'sent') AS unsent FROM outbox o JOIN messages m ON m.case_id = o.case_id
       WHERE m.message_id = ?`,
    )
    .get(messageId) as { n: number; unsent: number | null };
  if (sent.n >= 2 && sent.unsent === 0) break;
  if (Date.now() - t0 > 120_000) throw new Error('the report was not processed within 2 minutes');
}
const size =
  (db.prepare('SELECT size FROM messages WHERE message_id = ?').get(messageId) as { size: number }).size /
  1024 /
  1024;
clearInterval(sampler);
db.close();
const exited = new Promise((r) => child.on('exit', r));
child.kill('SIGTERM');
await exited;
rmSync(workDir, { recursive: true, force: true }); // the database and the spooled mail
const growth = peak - idle;
process.stdout.write(
  `report: ${mb} MB attachment, ${size.toFixed(1)} MB as mail; processed and answered in ${Date.now() - t0} ms\n` +
    `service RSS: idle ${idle.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, growth ${growth.toFixed(0)} MB = ${(growth / mb).toFixed(2)}× the attachment, ${(growth / size).toFixed(2)}× the mail\n`,
);
