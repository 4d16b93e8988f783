/**
 * `npm run bench` (issue #6): measures psirt-inbox on the local stack and prints a table; the
 * figures also go to bench-results/latest.json. No assertions: figures to compare, run after run.
 *
 *   npm run bench -- [--scenario ingest,ingest-pgp,latency,sweep,memory,seal,floor] [--n 300]
 *                    [--corpus DIR] [--rate 5] [--seconds 60] [--cases 1000000] [--out FILE]
 *
 * ingest      N generated reports (text/plain, 2–5 KB, distinct senders and Message-IDs) wait in a
 *             staging folder of security@'s mailbox; once the service is up (its IMAP IDLE set),
 *             one IMAP MOVE puts them all into the INBOX at once — a rush of mail arriving at a
 *             running service. Timed from the move until every case is committed and every
 *             acknowledgment accepted by SMTP, and until every mail (the staff notifications too)
 *             was; the service's CPU over the same span. Its start (time, CPU) is reported apart.
 *             Beside it, the limits of the mail stack itself for the same work: the raw IMAP fetch
 *             of the same messages, and Postfix's own smtp-source submitting as many mails of the
 *             same size as the service sent (accepted, and delivered into the mailboxes).
 * ingest-split the same with the mailer in `--mailers N` processes of its own (compose threads
 *             off): the multi-process alternative to compose threads (#16); not in the default set.
 * ingest-pgp  the same with one third PGP/MIME signed and encrypted by the real gpg, reporter keys
 *             Curve25519, RSA-3072 and RSA-4096 (attached, so acknowledgments are encrypted).
 * latency     reports through Postfix at a steady rate to a running service on IDLE; per report
 *             the time from Postfix accepting it to our acknowledgment accepted by SMTP.
 * sweep       1,000,000 cases in SQLite with realistic deadlines; one escalation sweep and
 *             `psirt cases list` of the open cases.
 * memory      idle RSS of the one-process service and of each role alone (`--role`), measured
 *             after it settled; peak RSS during ingest and latency (always reported); and while it
 *             processes one 25 MB report (scripts/measure-big-report.ts).
 * seal        the cost of sealing at rest (#13, scripts/bench-seal.ts): seal/open MB/s, CPU per
 *             report against the #16 budget of 15 ms, openVault with N data keys, the backlog pass.
 * floor       the required libraries' own CPU for one report, each operation apart in the bench's
 *             process (scripts/bench-floor.ts): mailparser's decode, nodemailer's MIME with an
 *             OpenPGP.js signature (acknowledgment) and signed + encrypted to four keys
 *             (notification), nodemailer's SMTP client for two mails — a floor under ours.
 * Every ingest also prints where the machine's CPU went (ours, Postfix + Dovecot, Redis, the
 * rest) and what that leaves: the most reports/s these two cores can do with the stack beside us.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { ImapFlow } from 'imapflow';
import { pooledTransport } from '../test/support/paced-mail.js';
import { address, readStack, REPO, stackEnv } from '../test/support/stack.js';
import { benchGpg, generateReports, type BenchReport } from './bench-corpus.js';
import { sweepAtScale } from './bench-sweep.js';
import { sealCost } from './bench-seal.js';
import { libraryFloor } from './bench-floor.js';
import {
  cpuSince,
  machineCpu,
  mainThreadCpuSeconds,
  perReport,
  treeUsage,
  type MachineCpu,
} from './bench-proc.js';

const SCENARIOS = [
  'ingest',
  'ingest-pgp',
  'ingest-split',
  'latency',
  'sweep',
  'memory',
  'seal',
  'floor',
] as const;
const USAGE = `usage: npm run bench -- [--scenario ${SCENARIOS.join(',')}] [--n 300] [--corpus DIR]
                     [--rate 20] [--seconds 60] [--cases 1000000] [--mailers 1] [--out FILE]
                     [--service-env KEY=VALUE]`;

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({
      strict: true,
      options: {
        // ingest-split is the alternative #16 measured against the default, not run by default.
        scenario: { type: 'string', default: SCENARIOS.filter((x) => x !== 'ingest-split').join(',') },
        /** --role mailer processes beside the intake in ingest-split. */
        mailers: { type: 'string', default: '1' },
        n: { type: 'string', default: '300' },
        corpus: { type: 'string' },
        rate: { type: 'string', default: '20' },
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
/** Cores of this machine (the CPU the service and the mail stack share). */
const CORES = readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? 1;

const stack = readStack();
const CLI = join(REPO, 'dist', 'workers', 'cli.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const progress = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
const results: Record<string, unknown> = { date: new Date().toISOString(), machine: machine() };

function machine(): Record<string, unknown> {
  const cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  return { node: process.version, cpu, cores: CORES };
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
    for (const folder of ['INBOX', STAGING]) {
      if (folder === STAGING && !(await c.list()).some((m) => m.path === STAGING)) continue;
      const lock = await c.getMailboxLock(folder);
      try {
        if (c.mailbox !== false && c.mailbox.exists > 0) await c.messageMove('1:*', 'bench-leftovers');
      } finally {
        lock.release();
      }
    }
  } finally {
    await c.logout();
  }
}

/** The mailbox's own limit: fetch every message's full source, do nothing else. */
async function rawImapBaseline(
  count: number,
  folder = 'INBOX',
): Promise<{ ms: number; perSecond: number; bytes: number }> {
  const c = await imap('security');
  let bytes = 0;
  let seen = 0;
  const t0 = performance.now();
  try {
    const lock = await c.getMailboxLock(folder);
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
  /** Resolves when the service logged this event (e.g. 'intake.connected'). */
  event(name: string): Promise<void>;
  stop(): Promise<void>;
  /** Deletes the service's database folder (after stop). */
  remove(): void;
}

/**
 * `psirt start` (with `args`, e.g. `--role intake`) on a fresh database, or on `dbPath`; `started`
 * resolves with the time it logged service.started.
 */
function startService(
  extra: Record<string, string> = {},
  args: readonly string[] = [],
  dbPath = join(mkdtempSync(join(tmpdir(), 'psirt-bench-')), 'psirt.db'),
): Service {
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PSIRT_'))),
    ...stackEnv(stack, {
      PSIRT_DATABASE__PATH: dbPath,
      PSIRT_LOG__LEVEL: 'info',
      PSIRT_ACKNOWLEDGMENT__MAX_PER_SENDER_PER_HOUR: '1000000',
      PSIRT_ACKNOWLEDGMENT__MAX_FIRST_CONTACT_PER_HOUR: '1000000',
      // A relay on loopback takes many sessions at once (a hosted relay may allow fewer: the
      // defaults are 4 and 2); README "Benchmarks" says what each setting does.
      PSIRT_MAILER__CONCURRENCY: '8',
      PSIRT_SMTP__POOL_SIZE: '8',
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
  const child = spawn(process.execPath, [...profile, CLI, 'start', ...args], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const waiters: { name: string; resolve: () => void }[] = [];
  const started = new Promise<number>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < 1_000_000) out += d.toString();
      if (out.includes('"service.started"')) resolve(performance.now());
      for (const w of waiters.splice(0)) {
        if (out.includes(`"event":"${w.name}"`)) w.resolve();
        else waiters.push(w);
      }
    });
  });
  return {
    child,
    dbPath,
    started,
    event: (name) =>
      new Promise<void>((resolve) => {
        if (out.includes(`"event":"${name}"`)) resolve();
        else waiters.push({ name, resolve });
      }),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
    remove: () => rmSync(dirname(dbPath), { recursive: true, force: true }),
  };
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

/** security@'s folder where ingest reports wait until the service is up. */
const STAGING = 'bench-staging';

async function stage(reports: readonly BenchReport[]): Promise<number> {
  const c = await imap('security');
  const t0 = performance.now();
  try {
    if (!(await c.list()).some((m) => m.path === STAGING)) await c.mailboxCreate(STAGING);
    for (const [i, r] of reports.entries()) {
      await c.append(STAGING, r.raw);
      if ((i + 1) % 100 === 0) progress(`staged ${i + 1}/${reports.length}`);
    }
  } finally {
    await c.logout();
  }
  return performance.now() - t0;
}

/** One IMAP MOVE of everything staged into the INBOX (the rush); resolves when the server answered. */
async function release(): Promise<void> {
  const c = await imap('security');
  try {
    const lock = await c.getMailboxLock(STAGING);
    try {
      await c.messageMove('1:*', 'INBOX');
    } finally {
      lock.release();
    }
  } finally {
    await c.logout();
  }
}

/**
 * How the service under test runs: `psirt start` as configured (one process), or split — the
 * intake, escalation and retention in one process and `--role mailer` in `mailers` more, each
 * without compose threads (the other way to use both cores, #16).
 */
type Layout = { kind: 'one' } | { kind: 'split'; mailers: number };

async function ingest(
  name: string,
  reports: readonly BenchReport[],
  layout: Layout = { kind: 'one' },
): Promise<Record<string, unknown>> {
  progress(`${name}: ${reports.length} reports staged in security@`);
  await drainInbox();
  const appendMs = await stage(reports);
  const baseline = await rawImapBaseline(reports.length, STAGING);
  progress(`${name}: raw IMAP fetch ${baseline.perSecond.toFixed(0)} messages/s; starting the service`);
  const noThreads = { PSIRT_MAILER__COMPOSE_THREADS: '0' };
  const service =
    layout.kind === 'one'
      ? startService()
      : startService(noThreads, ['--role', 'intake', 'escalation', 'retention']);
  const services = [service];
  if (layout.kind === 'split')
    for (let i = 0; i < layout.mailers; i++)
      services.push(startService(noThreads, ['--role', 'mailer'], service.dbPath));
  const all = (): { cpuSeconds: number; rssMb: number; processes: number } => {
    const us = services.map((x) => treeUsage(x.child.pid ?? 0));
    return {
      cpuSeconds: us.reduce((a, u) => a + u.cpuSeconds, 0),
      rssMb: us.reduce((a, u) => a + u.rssMb, 0),
      processes: us.reduce((a, u) => a + u.processes, 0),
    };
  };
  const spawnedAt = performance.now();
  const peaks = { start: 0, ingest: 0 };
  let phase: keyof typeof peaks = 'start';
  const sampler = setInterval(() => {
    try {
      peaks[phase] = Math.max(peaks[phase], all().rssMb);
    } catch {
      // exited
    }
  }, 20);
  const startedAt = Math.max(...(await Promise.all(services.map((x) => x.started))));
  await service.event('intake.connected');
  await sleep(1500); // the first sync round done and IDLE set
  const before = all();
  const machineBefore = machineCpu(stack.dir);
  const mainBefore = mainThreadCpuSeconds(service.child.pid ?? 0);
  phase = 'ingest';
  const t0 = performance.now();
  await release();
  const done = await untilAnswered(service.dbPath, reports.length, 600_000, true);
  const u = all();
  const machineUsed = cpuSince(machineBefore, machineCpu(stack.dir));
  const mainUsed = mainThreadCpuSeconds(service.child.pid ?? 0) - mainBefore;
  clearInterval(sampler);
  const mails = sentMails(service.dbPath);
  for (const x of services.slice(1)) await x.stop();
  await service.stop();
  service.remove();
  const toAcks = (done.acks - t0) / 1000;
  const toAll = (done.all - t0) / 1000;
  return {
    reports: reports.length,
    encrypted: reports.filter((r) => r.encrypted).length,
    processes: u.processes,
    appendSeconds: appendMs / 1000,
    startupSeconds: (startedAt - spawnedAt) / 1000,
    startupCpuSeconds: before.cpuSeconds,
    // From the move into the INBOX: every case committed and every acknowledgment accepted by SMTP.
    secondsToAcks: toAcks,
    reportsPerSecond: reports.length / toAcks,
    // … and every other mail (the staff notifications) too: the whole work of the reports.
    secondsToAllMail: toAll,
    reportsPerSecondAllMail: reports.length / toAll,
    mailsSent: mails,
    mailsPerSecond: mails / toAll,
    cpuSecondsPerReport: (u.cpuSeconds - before.cpuSeconds) / reports.length,
    // Of it, the (first) service process's main thread; the rest is its other threads.
    mainThreadCpuSecondsPerReport: mainUsed / reports.length,
    // Where the machine's CPU went over the same span (the bench itself is in "machine").
    machineMsPerReport: perReport(machineUsed, reports.length),
    machineBusyFraction: machineUsed.machine / (toAll * CORES),
    peakRssMbStart: peaks.start,
    peakRssMb: peaks.ingest,
    rawImap: baseline,
    fractionOfRawImap: reports.length / toAcks / baseline.perSecond,
  };
}

/** How many outbox rows were sent (each one SMTP transaction), to size the stack's own run. */
function sentMails(dbPath: string): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM outbox WHERE state = 'sent'").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Messages in a user's INBOX (IMAP STATUS). */
async function inboxCount(user: string): Promise<number> {
  const c = await imap(user);
  try {
    const st = await c.status('INBOX', { messages: true });
    return st === false ? 0 : (st.messages ?? 0);
  } finally {
    await c.logout();
  }
}

/**
 * The mail stack's own limit for the service's outgoing mail: Postfix's smtp-source submits
 * `count` mails of `bytes` each over `sessions` parallel SMTP sessions to one local mailbox —
 * the time until Postfix accepted the last one (what our "accepted by SMTP" figures compare
 * with), and until Dovecot holds them all (delivered over LMTP).
 */
async function stackLimit(count: number, bytes: number, sessions: number): Promise<Record<string, unknown>> {
  const user = 'reporter3';
  const target = address(stack, user);
  const before = await inboxCount(user);
  const cpuBefore = machineCpu(stack.dir);
  const t0 = performance.now();
  execFileSync('/usr/sbin/smtp-source', [
    '-c',
    ...['-m', String(count), '-s', String(sessions), '-l', String(bytes)],
    ...['-f', address(stack, 'oncall'), '-t', target],
    `${stack.host}:${String(stack.smtpPort)}`,
  ]);
  const acceptedMs = performance.now() - t0;
  for (;;) {
    if ((await inboxCount(user)) - before >= count) break;
    if (performance.now() - t0 > 300_000) throw new Error('smtp-source mail not delivered in 300 s');
    await sleep(50);
  }
  const deliveredMs = performance.now() - t0;
  const used = cpuSince(cpuBefore, machineCpu(stack.dir));
  return {
    // CPU per mail of Postfix + Dovecot alone, and of the machine (smtp-source, the bench's
    // polling and the kernel's loopback work included).
    mailStackMsPerMail: (used.mailStack / count) * 1000,
    machineMsPerMail: (used.machine / count) * 1000,
    mails: count,
    bytes,
    sessions,
    acceptedPerSecond: (count / acceptedMs) * 1000,
    deliveredPerSecond: (count / deliveredMs) * 1000,
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function latency(rate: number, seconds: number): Promise<Record<string, unknown>> {
  await drainInbox();
  const service = startService();
  await service.started;
  await service.event('intake.connected');
  await sleep(2000); // IDLE established
  const cpuAtStart = treeUsage(service.child.pid ?? 0).cpuSeconds;
  const transport = pooledTransport(stack, 2);
  const total = Math.round(rate * seconds);
  const reports = generateReports(total, 'latency');
  const accepted = new Map<string, number>();
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, treeUsage(service.child.pid ?? 0).rssMb);
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
  const u = treeUsage(service.child.pid ?? 0);
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
    peakRssMb: peak,
    cpuSecondsPerReport: (u.cpuSeconds - cpuAtStart) / total,
  };
}

/** Seconds the idle service settles after its start, then seconds its RSS is sampled. */
const IDLE_SETTLE_SECONDS = 10;
const IDLE_SAMPLE_SECONDS = 20;

/**
 * Idle RSS of the one-process service and of each role alone: started on an empty mailbox, left
 * to settle, then sampled once a second (median and max; a start's peak reported apart).
 */
async function idleRss(): Promise<Record<string, { medianMb: number; maxMb: number; startPeakMb: number }>> {
  await drainInbox();
  const out: Record<string, { medianMb: number; maxMb: number; startPeakMb: number }> = {};
  for (const role of ['all', 'intake', 'mailer', 'escalation', 'retention']) {
    progress(`memory: idle ${role === 'all' ? 'service' : `--role ${role}`}`);
    const service = startService({}, role === 'all' ? [] : ['--role', role]);
    let startPeak = 0;
    const sampler = setInterval(() => {
      try {
        startPeak = Math.max(startPeak, treeUsage(service.child.pid ?? 0).rssMb);
      } catch {
        // exited
      }
    }, 20);
    await service.started;
    clearInterval(sampler);
    await sleep(IDLE_SETTLE_SECONDS * 1000);
    const samples: number[] = [];
    for (let i = 0; i < IDLE_SAMPLE_SECONDS; i++) {
      samples.push(treeUsage(service.child.pid ?? 0).rssMb);
      await sleep(1000);
    }
    await service.stop();
    service.remove();
    samples.sort((a, b) => a - b);
    out[role] = { medianMb: percentile(samples, 50), maxMb: samples.at(-1) ?? NaN, startPeakMb: startPeak };
  }
  return out;
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

/** The bounds of issue #16, printed beside each figure (nothing here asserts them). */
const LIMITS = {
  reportsPerSecond: 100,
  pgpReportsPerSecond: 60,
  allMailReportsPerSecond: 60,
  cpuMsPerReport: 15,
  ackP99Ms: 100,
  idleRssMb: 150,
  peakRssMb: 250,
} as const;

/** The table rows of an ingest run: our figures with their bounds, then the stack's own limits. */
function ingestRows(label: string, r: Record<string, unknown>, ackLimit: number): void {
  const raw = r.rawImap as { perSecond: number };
  const smtp = r.stackLimit as {
    mails: number;
    acceptedPerSecond: number;
    deliveredPerSecond: number;
    mailStackMsPerMail: number;
  };
  const mailsPerSecond = r.mailsPerSecond as number;
  row(
    label,
    `${String(r.reports)} reports, ${String(r.processes)} process(es)`,
    `${(r.reportsPerSecond as number).toFixed(1)} reports/s acknowledged (bound ≥ ${String(ackLimit)})`,
    `${(r.reportsPerSecondAllMail as number).toFixed(1)}/s all mail sent (≥ ${String(LIMITS.allMailReportsPerSecond)})`,
    `${((r.cpuSecondsPerReport as number) * 1000).toFixed(1)} ms CPU/report (≤ ${String(LIMITS.cpuMsPerReport)}), main thread ${((r.mainThreadCpuSecondsPerReport as number) * 1000).toFixed(1)}`,
    `peak RSS ${(r.peakRssMb as number).toFixed(0)} MB (≤ ${String(LIMITS.peakRssMb)})`,
  );
  row(
    '  the stack alone',
    `raw IMAP fetch ${(Math.round(raw.perSecond / 100) * 100).toFixed(0)}/s: we reach ${((r.fractionOfRawImap as number) * 100).toFixed(1)} %`,
    `smtp-source ${String(smtp.mails)} mails: accepted ${smtp.acceptedPerSecond.toFixed(0)}/s, delivered ${smtp.deliveredPerSecond.toFixed(0)}/s`,
    `our ${String(r.mailsSent)} mails at ${mailsPerSecond.toFixed(0)}/s = ${((mailsPerSecond / smtp.acceptedPerSecond) * 100).toFixed(0)} % of accepted, ${((mailsPerSecond / smtp.deliveredPerSecond) * 100).toFixed(0)} % of delivered`,
    `start ${(r.startupSeconds as number).toFixed(1)} s, ${(r.startupCpuSeconds as number).toFixed(1)} s CPU (apart)`,
    `start peak ${(r.peakRssMbStart as number).toFixed(0)} MB`,
  );
  const m = r.machineMsPerReport as MachineCpu;
  const ours = (r.cpuSecondsPerReport as number) * 1000;
  const others = m.machine - ours;
  // With every core busy at the same CPU per report: what this machine can do at all, and what
  // it could do if our part were exactly the bound (the stack's and the rest's CPU unchanged).
  const ceiling = (msPerReport: number) => (CORES * 1000) / msPerReport;
  const mailsPerReport = (r.mailsSent as number) / (r.reports as number);
  row(
    '  the machine',
    `${String(CORES)} cores ${((r.machineBusyFraction as number) * 100).toFixed(0)} % busy`,
    `CPU/report: ours ${ours.toFixed(1)}, Postfix+Dovecot ${m.mailStack.toFixed(1)}, Redis ${m.redis.toFixed(1)}, rest ${(others - m.mailStack - m.redis).toFixed(1)} ms`,
    `smtp-source: Postfix+Dovecot ${(smtp.mailStackMsPerMail * mailsPerReport).toFixed(1)} ms for ${mailsPerReport.toFixed(1)} mails`,
    `all cores busy: ≤ ${ceiling(m.machine).toFixed(0)} reports/s all mail`,
    `ours at ${String(LIMITS.cpuMsPerReport)} ms: ≤ ${ceiling(others + LIMITS.cpuMsPerReport).toFixed(0)}/s`,
  );
}

/** An ingest run with the stack's own SMTP limit for as many mails as it sent, beside it. */
async function ingestWithLimit(
  name: string,
  reports: readonly BenchReport[],
  layout: Layout = { kind: 'one' },
): Promise<Record<string, unknown>> {
  const r = await ingest(name, reports, layout);
  progress(`${name}: the stack alone, smtp-source with ${String(r.mailsSent)} mails`);
  return { ...r, stackLimit: await stackLimit(r.mailsSent as number, 4096, 8) };
}

if (scenarios.has('ingest')) {
  const reports = opts.corpus ? corpus(opts.corpus) : generateReports(N, 'ingest');
  results.ingest = await ingestWithLimit('ingest', reports);
  ingestRows('ingest', results.ingest as Record<string, unknown>, LIMITS.reportsPerSecond);
}
if (scenarios.has('ingest-split')) {
  const mailers = count('mailers', opts.mailers);
  const reports = opts.corpus ? corpus(opts.corpus) : generateReports(N, 'ingest');
  results.ingestSplit = await ingestWithLimit('ingest-split', reports, { kind: 'split', mailers });
  ingestRows(
    `ingest, ${String(mailers)} mailer process(es)`,
    results.ingestSplit as Record<string, unknown>,
    LIMITS.reportsPerSecond,
  );
}
if (scenarios.has('ingest-pgp')) {
  const reports = await benchGpg((gpg) => generateReports(N, 'ingest-pgp', gpg));
  results.ingestPgp = await ingestWithLimit('ingest-pgp', reports);
  ingestRows('ingest, 1/3 PGP', results.ingestPgp as Record<string, unknown>, LIMITS.pgpReportsPerSecond);
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
    `p99 ${String(r.fromStoredP99Ms)} (≤ ${String(LIMITS.ackP99Ms)}) / max ${String(r.fromStoredMaxMs)} ms`,
    `${((r.cpuSecondsPerReport as number) * 1000).toFixed(1)} ms CPU/report`,
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
  const idle = await idleRss();
  results.idleRss = idle;
  for (const [label, r] of Object.entries(idle))
    row(
      label === 'all' ? 'idle, one process' : `  idle, --role ${label}`,
      `RSS ${r.medianMb.toFixed(0)} MB${label === 'all' ? ` (≤ ${String(LIMITS.idleRssMb)})` : ''}`,
      `max ${r.maxMb.toFixed(0)} MB over ${String(IDLE_SAMPLE_SECONDS)} s`,
      `start peak ${r.startPeakMb.toFixed(0)} MB`,
      '',
      '',
    );
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

if (scenarios.has('floor')) {
  const r = await libraryFloor(stack, progress);
  results.floor = r;
  const ms = (x: number | undefined) => `${(x ?? NaN).toFixed(1)} ms`;
  row(
    'library floor',
    `one report in the libraries alone: ${ms(r.perReportMs)} CPU (bound ${String(LIMITS.cpuMsPerReport)})`,
    `decode ${ms(r.decodeMs)}`,
    `acknowledgment (MIME + signature) ${ms(r.signedMs)}`,
    `notification (MIME + sign + encrypt to 4 keys) ${ms(r.encryptedMs)}`,
    `SMTP client ${ms(r.smtpMs)} per mail, 2 mails`,
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
