/**
 * `npm run bench` (issue #6): measures psirt-inbox on the local stack and prints a table; the
 * figures also go to bench-results/latest.json. No assertions: figures to compare, run after run.
 *
 *   npm run bench -- [--scenario ingest,ingest-pgp,latency,sweep,memory,seal] [--n 300]
 *                    [--corpus DIR] [--rate 5] [--seconds 60] [--cases 1000000] [--out FILE]
 *
 * ingest      N generated reports (text/plain, 2–5 KB, distinct senders and Message-IDs) are
 *             placed in security@ before the service starts; the time from the start until every
 *             case is committed and every acknowledgment accepted by SMTP. Beside it, the raw IMAP
 *             baseline: fetching the same messages' full source with imapflow and nothing else.
 * ingest-pgp  the same with one third PGP/MIME signed and encrypted by the real gpg, reporter keys
 *             Curve25519, RSA-3072 and RSA-4096 (attached, so acknowledgments are encrypted).
 * latency     reports through Postfix at a steady rate to a running service on IDLE; per report
 *             the time from Postfix accepting it to our acknowledgment accepted by SMTP.
 * sweep       1,000,000 cases in SQLite with realistic deadlines; one escalation sweep and
 *             `psirt cases list` of the open cases.
 * memory      peak RSS of the service during ingest and latency (always reported), and while it
 *             processes one 25 MB report (scripts/measure-big-report.ts).
 * seal        the cost of sealing at rest (#13, scripts/bench-seal.ts): seal/open MB/s, CPU per
 *             report against the #16 budget of 15 ms, openVault with N data keys, the backlog pass.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { address, readStack, REPO, stackEnv } from '../test/support/stack.js';
import { benchGpg, generateReports, type BenchReport } from './bench-corpus.js';
import { sweepAtScale } from './bench-sweep.js';
import { sealCost } from './bench-seal.js';

const SCENARIOS = ['ingest', 'ingest-pgp', 'latency', 'sweep', 'memory', 'seal'] as const;
const USAGE = `usage: npm run bench -- [--scenario ${SCENARIOS.join(',')}] [--n 300] [--corpus DIR]
                     [--rate 5] [--seconds 60] [--cases 1000000] [--out FILE] [--service-env KEY=VALUE]`;

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({
      strict: true,
      options: {
        scenario: { type: 'string', default: SCENARIOS.join(',') },
        n: { type: 'string', default: '300' },
        corpus: { type: 'string' },
        rate: { type: 'string', default: '5' },
        seconds: { type: 'string', default: '60' },
        cases: { type: 'string', default: '1000000' },
        out: { type: 'string', default: join(REPO, 'bench-results', 'latest.json') },
        /** Extra configuration for the service under test, e.g. PSIRT_IMAP__AUTO_IDLE_DELAY_MS=100. */
        'service-env': { type: 'string', multiple: true, default: [] },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    return fail((err as Error).message);
  }
}
const opts = parse();
if (opts.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
/** A whole number ≥ 1 from an option, or a clear refusal naming it. */
function count(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1)
    fail(`--${name} must be a whole number ≥ 1 (got "${value}")`);
  return n;
}
const scenarios = new Set(opts.scenario.split(',').filter((s) => s !== ''));
for (const s of scenarios) if (!(SCENARIOS as readonly string[]).includes(s)) fail(`unknown scenario "${s}"`);
if (scenarios.size === 0) fail('--scenario names no scenario');
const N = count('n', opts.n);
const RATE = count('rate', opts.rate);
const SECONDS = count('seconds', opts.seconds);
const CASES = count('cases', opts.cases);
for (const kv of opts['service-env'])
  if (!/^PSIRT_[A-Z0-9_]+=/.test(kv)) fail(`--service-env expects PSIRT_KEY=VALUE (got "${kv}")`);
if (opts.corpus !== undefined) {
  let files: string[] = [];
  try {
    files = readdirSync(opts.corpus).filter((f) => f.endsWith('.eml'));
  } catch {
    fail(`--corpus ${opts.corpus}: not a readable folder`);
  }
  if (files.length === 0) fail(`--corpus ${opts.corpus}: no .eml files in it`);
}
const stack = readStack();
const CLI = join(REPO, 'dist', 'workers', 'cli.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const progress = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
const results: Record<string, unknown> = { date: new Date().toISOString(), machine: machine() };

function machine(): Record<string, unknown> {
  const cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  const cores = readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? 0;
  return { node: process.version, cpu, cores };
}

async function imap(user: string): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: stack.host,
    port: stack.imapPort,
    secure: false,
    doSTARTTLS: false,
    auth: { user: address(stack, user), pass: stack.password },
    logger: false,
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Moves everything out of security@'s INBOX so the run starts from an empty box. */
async function drainInbox(): Promise<void> {
  const c = await imap('security');
  try {
    if (!(await c.list()).some((m) => m.path === 'bench-leftovers')) await c.mailboxCreate('bench-leftovers');
    const lock = await c.getMailboxLock('INBOX');
    try {
      if (c.mailbox !== false && c.mailbox.exists > 0) await c.messageMove('1:*', 'bench-leftovers');
    } finally {
      lock.release();
    }
  } finally {
    await c.logout();
  }
}

async function appendAll(reports: readonly BenchReport[]): Promise<number> {
  const c = await imap('security');
  const t0 = performance.now();
  try {
    for (const [i, r] of reports.entries()) {
      await c.append('INBOX', r.raw);
      if ((i + 1) % 100 === 0) progress(`appended ${i + 1}/${reports.length}`);
    }
  } finally {
    await c.logout();
  }
  return performance.now() - t0;
}

/** The mailbox's own limit: fetch every message's full source, do nothing else. */
async function rawImapBaseline(count: number): Promise<{ ms: number; perSecond: number; bytes: number }> {
  const c = await imap('security');
  let bytes = 0;
  let seen = 0;
  const t0 = performance.now();
  try {
    const lock = await c.getMailboxLock('INBOX');
    try {
      for await (const m of c.fetch('1:*', { uid: true, source: true })) {
        bytes += m.source?.length ?? 0;
        seen += 1;
      }
    } finally {
      lock.release();
    }
  } finally {
    await c.logout();
  }
  const ms = performance.now() - t0;
  if (seen !== count) throw new Error(`baseline fetched ${seen} messages, expected ${count}`);
  return { ms, perSecond: (count / ms) * 1000, bytes };
}

interface Service {
  child: ChildProcess;
  dbPath: string;
  started: Promise<number>;
  stop(): Promise<void>;
  /** Deletes the service's database folder (after stop). */
  remove(): void;
}

/** `psirt start` on a fresh database; `started` resolves with the time it logged service.started. */
function startService(extra: Record<string, string> = {}): Service {
  const dbPath = join(mkdtempSync(join(tmpdir(), 'psirt-bench-')), 'psirt.db');
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PSIRT_'))),
    ...stackEnv(stack, {
      PSIRT_DATABASE__PATH: dbPath,
      PSIRT_LOG__LEVEL: 'info',
      PSIRT_ACKNOWLEDGMENT__MAX_PER_SENDER_PER_HOUR: '1000000',
      PSIRT_ACKNOWLEDGMENT__MAX_FIRST_CONTACT_PER_HOUR: '1000000',
      PSIRT_MAILER__CONCURRENCY: '8',
      ...Object.fromEntries(
        opts['service-env'].map((kv) => [kv.split('=')[0] ?? '', kv.slice(kv.indexOf('=') + 1)]),
      ),
      ...extra,
    }),
  };
  // BENCH_PROFILE=DIR writes a V8 CPU profile of the service there (profile the slowest stage).
  const profile = process.env.BENCH_PROFILE
    ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE]
    : [];
  const child = spawn(process.execPath, [...profile, CLI, 'start'], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const started = new Promise<number>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < 1_000_000) out += d.toString();
      if (out.includes('"service.started"')) resolve(performance.now());
    });
  });
  return {
    child,
    dbPath,
    started,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
    remove: () => rmSync(dirname(dbPath), { recursive: true, force: true }),
  };
}

/** CPU seconds (user + system) and peak RSS (MB) of a process, from /proc. */
function usage(pid: number): { cpuSeconds: number; peakRssMb: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
  const cpu = (Number(stat[11]) + Number(stat[12])) / ticks;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { cpuSeconds: cpu, peakRssMb: kb('VmHWM'), rssMb: kb('VmRSS') };
}

/**
 * Waits until `count` cases exist and `count` acknowledgments were accepted by SMTP; with
 * `allMail`, also until every other mail (the staff notifications) was sent. Returns when each
 * milestone was reached.
 */
async function untilAnswered(
  dbPath: string,
  count: number,
  timeoutMs: number,
  allMail = false,
): Promise<{ acks: number; all: number }> {
  const t0 = performance.now();
  let db: Database.Database | null = null;
  let last = '';
  let acksAt = 0;
  for (;;) {
    try {
      db ??= new Database(dbPath, { readonly: true, fileMustExist: true });
      const cases = (db.prepare('SELECT count(*) AS n FROM cases').get() as { n: number }).n;
      const acks = (
        db
          .prepare("SELECT count(*) AS n FROM outbox WHERE kind = 'acknowledgment' AND state = 'sent'")
          .get() as {
          n: number;
        }
      ).n;
      const unsent = (
        db.prepare("SELECT count(*) AS n FROM outbox WHERE state <> 'sent'").get() as { n: number }
      ).n;
      const line = `${cases}/${count} cases, ${acks}/${count} acknowledgments sent, ${unsent} mails unsent`;
      if (line !== last && (cases % 50 === 0 || acks % 50 === 0)) progress(line);
      last = line;
      if (cases >= count && acks >= count && acksAt === 0) acksAt = performance.now();
      if (acksAt > 0 && (!allMail || unsent === 0)) break;
    } catch (err) {
      // Only "the database is not created yet" is expected here.
      if (db !== null) throw err;
    }
    if (performance.now() - t0 > timeoutMs) throw new Error(`not answered in ${timeoutMs} ms: ${last}`);
    await sleep(50);
  }
  db.close();
  return { acks: acksAt, all: performance.now() };
}

async function ingest(name: string, reports: readonly BenchReport[]): Promise<Record<string, unknown>> {
  progress(`${name}: ${reports.length} reports into security@`);
  await drainInbox();
  const appendMs = await appendAll(reports);
  const baseline = await rawImapBaseline(reports.length);
  progress(`${name}: raw IMAP fetch ${baseline.perSecond.toFixed(0)} messages/s; starting the service`);
  const service = startService();
  const t0 = performance.now();
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, usage(service.child.pid ?? 0).rssMb);
    } catch {
      // exited
    }
  }, 20);
  const startedAt = await service.started;
  const done = await untilAnswered(service.dbPath, reports.length, 600_000, true);
  const u = usage(service.child.pid ?? 0);
  clearInterval(sampler);
  await service.stop();
  service.remove();
  const fromSpawn = (done.acks - t0) / 1000;
  return {
    reports: reports.length,
    encrypted: reports.filter((r) => r.encrypted).length,
    appendSeconds: appendMs / 1000,
    startupSeconds: (startedAt - t0) / 1000,
    // Every case committed and every acknowledgment accepted by SMTP, from the spawn.
    secondsToAcks: fromSpawn,
    reportsPerSecond: reports.length / fromSpawn,
    // … and every staff notification too (the whole work of the reports).
    secondsToAllMail: (done.all - t0) / 1000,
    reportsPerSecondAllMail: reports.length / ((done.all - t0) / 1000),
    cpuSecondsPerReport: u.cpuSeconds / reports.length,
    peakRssMb: Math.max(peak, u.peakRssMb),
    rawImap: baseline,
    fractionOfRawImap: reports.length / fromSpawn / baseline.perSecond,
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function latency(rate: number, seconds: number): Promise<Record<string, unknown>> {
  await drainInbox();
  const service = startService();
  await service.started;
  await sleep(2000); // IDLE established
  const transport = nodemailer.createTransport({
    host: stack.host,
    port: stack.smtpPort,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: 2,
  });
  const total = Math.round(rate * seconds);
  const reports = generateReports(total, 'latency');
  const accepted = new Map<string, number>();
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, usage(service.child.pid ?? 0).rssMb);
    } catch {
      // exited
    }
  }, 50);
  const t0 = performance.now();
  const sends: Promise<void>[] = [];
  for (const [i, r] of reports.entries()) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    sends.push(
      transport
        .sendMail({ envelope: { from: r.sender, to: [address(stack, 'security')] }, raw: r.raw })
        .then(() => {
          accepted.set(r.messageId, Date.now());
        }),
    );
    if ((i + 1) % (rate * 10) === 0) progress(`latency: sent ${i + 1}/${total}`);
  }
  await Promise.all(sends);
  transport.close();
  await untilAnswered(service.dbPath, total, 120_000);
  const db = new Database(service.dbPath, { readonly: true });
  const rows = db
    .prepare(
      `SELECT o.in_reply_to AS id, o.sent_at, m.stored_at FROM outbox o JOIN messages m ON m.message_id = o.in_reply_to
       WHERE o.kind = 'acknowledgment' AND o.state = 'sent'`,
    )
    .all() as { id: string; sent_at: string; stored_at: string }[];
  db.close();
  const u = usage(service.child.pid ?? 0);
  clearInterval(sampler);
  await service.stop();
  service.remove();
  const sorted = (xs: number[]) => xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  // End to end: Postfix accepted the report → the SMTP server accepted our acknowledgment.
  const ms = sorted(rows.map((r) => Date.parse(r.sent_at) - (accepted.get(r.id) ?? NaN)));
  // Ours: the intake stored the report (just after IMAP told us) → acknowledgment accepted.
  const ours = sorted(rows.map((r) => Date.parse(r.sent_at) - Date.parse(r.stored_at)));
  return {
    reports: total,
    rate,
    p50Ms: percentile(ms, 50),
    p90Ms: percentile(ms, 90),
    p99Ms: percentile(ms, 99),
    maxMs: ms.at(-1) ?? NaN,
    fromStoredP50Ms: percentile(ours, 50),
    fromStoredP90Ms: percentile(ours, 90),
    fromStoredP99Ms: percentile(ours, 99),
    fromStoredMaxMs: ours.at(-1) ?? NaN,
    peakRssMb: Math.max(peak, u.peakRssMb),
    cpuSecondsPerReport: u.cpuSeconds / total,
  };
}

function bigReport(): Record<string, unknown> {
  progress('memory: one 25 MB report');
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', join(REPO, 'scripts', 'measure-big-report.ts'), '25'],
    {
      cwd: REPO,
      encoding: 'utf8',
    },
  );
  const m = /idle (\d+) MB, peak (\d+) MB, growth (-?\d+) MB/.exec(out);
  const t = /answered in (\d+) ms/.exec(out);
  const mail = /(\d+\.\d) MB as mail/.exec(out);
  return {
    attachmentMb: 25,
    mailMb: Number(mail?.[1]),
    idleRssMb: Number(m?.[1]),
    peakRssMb: Number(m?.[2]),
    growthMb: Number(m?.[3]),
    answeredMs: Number(t?.[1]),
  };
}

function corpus(dir: string): BenchReport[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f, i) => {
      const raw = readFileSync(join(dir, f));
      const id = /^Message-ID:\s*<([^>]+)>/im.exec(raw.toString('latin1'))?.[1] ?? `corpus-${i}`;
      const from =
        /^From:.*?<?([^\s<>]+@[^\s<>]+)>?\s*$/im.exec(raw.toString('latin1'))?.[1] ?? 'reporter1@psirt.test';
      return { raw, messageId: id, sender: from, encrypted: raw.includes('multipart/encrypted') };
    });
}

const table: string[][] = [];
const row = (...cells: (string | number)[]) =>
  table.push(
    cells.map((c) => (typeof c === 'number' ? (Number.isInteger(c) ? String(c) : c.toFixed(2)) : c)),
  );

/** One table row for an ingest run (the duplicate rows of the two ingest scenarios). */
function ingestRow(label: string, r: Record<string, unknown>): void {
  const raw = r.rawImap as { perSecond: number };
  row(
    label,
    `${String(r.reports)} reports`,
    `${(r.reportsPerSecond as number).toFixed(1)} reports/s acknowledged (${(r.reportsPerSecondAllMail as number).toFixed(1)}/s all mail sent)`,
    `${((r.cpuSecondsPerReport as number) * 1000).toFixed(1)} ms CPU/report`,
    `raw IMAP ${(Math.round(raw.perSecond / 100) * 100).toFixed(0)}/s (we reach ${((r.fractionOfRawImap as number) * 100).toFixed(1)} %)`,
    `peak RSS ${(r.peakRssMb as number).toFixed(0)} MB`,
  );
}

if (scenarios.has('ingest')) {
  const reports = opts.corpus ? corpus(opts.corpus) : generateReports(N, 'ingest');
  results.ingest = await ingest('ingest', reports);
  ingestRow('ingest', results.ingest as Record<string, unknown>);
}
if (scenarios.has('ingest-pgp')) {
  const reports = await benchGpg((gpg) => generateReports(N, 'ingest-pgp', gpg));
  results.ingestPgp = await ingest('ingest-pgp', reports);
  ingestRow('ingest, 1/3 PGP', results.ingestPgp as Record<string, unknown>);
}
if (scenarios.has('latency')) {
  const r = await latency(RATE, SECONDS);
  results.latency = r;
  row(
    'ack latency',
    `${String(r.reports)} at ${String(r.rate)}/s`,
    `p50 ${String(r.p50Ms)} ms`,
    `p90 ${String(r.p90Ms)} ms`,
    `p99 ${String(r.p99Ms)} / max ${String(r.maxMs)} ms`,
    `peak RSS ${(r.peakRssMb as number).toFixed(0)} MB`,
  );
  row(
    '  of which ours',
    'stored → ack sent',
    `p50 ${String(r.fromStoredP50Ms)} ms`,
    `p90 ${String(r.fromStoredP90Ms)} ms`,
    `p99 ${String(r.fromStoredP99Ms)} / max ${String(r.fromStoredMaxMs)} ms`,
    '',
  );
}
if (scenarios.has('sweep')) {
  const r = await sweepAtScale(CASES, progress);
  results.sweep = r;
  row(
    'sweep',
    `${String(r.cases)} cases, ${String(r.openCases)} open`,
    `sweep ${String(r.sweepMs)} ms (${String(r.stepsSent)} steps)`,
    `cases list ${String(r.casesListMs)} ms`,
    `deadlines ${String(r.deadlinesMs)} ms`,
    `db ${String(r.dbMb)} MB`,
  );
}
if (scenarios.has('memory')) {
  const r = bigReport();
  results.bigReport = r;
  row(
    '25 MB attachment',
    `${String(r.mailMb)} MB mail answered in ${String(r.answeredMs)} ms`,
    `idle RSS ${String(r.idleRssMb)} MB`,
    `peak ${String(r.peakRssMb)} MB`,
    `growth ${String(r.growthMb)} MB`,
    '',
  );
}

if (scenarios.has('seal')) {
  const r = await sealCost(progress);
  results.seal = r;
  row(
    'sealing at rest',
    `${String(r.reports)} reports of 2–5 KB`,
    `seal ${String(r.sealMbPerSecond)} MB/s, open ${String(r.openMbPerSecond)} MB/s`,
    `${String(r.cpuMsPerReport)} ms CPU/report (budget #16: 15 ms)`,
    `${String(r.bigMailMb)} MB mail: seal ${String(r.bigSealMbPerSecond)} MB/s, open ${String(r.bigOpenMbPerSecond)} MB/s`,
    '',
  );
  row(
    '  at start, backlog',
    `openVault 1/10/100 data keys: ${String(r.openVault1Ms)}/${String(r.openVault10Ms)}/${String(r.openVault100Ms)} ms`,
    `backlog ${String(r.backlogCases)} cases (${String(r.backlogRecords)} records) in ${String(r.backlogMs)} ms`,
    '',
    '',
    '',
  );
}

const widths = table.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
process.stdout.write(`\npsirt-inbox benchmark, ${results.date as string}, Node ${process.version}\n`);
for (const r of table)
  process.stdout.write(
    `${r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()}\n`,
  );
mkdirSync(dirname(opts.out), { recursive: true });
writeFileSync(opts.out, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`\nfigures written to ${opts.out}\n`);
