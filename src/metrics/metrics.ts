import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CASE_FLAGS } from '../core/flags.js';
import { describeError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import { STAGES } from '../6-commands/lifecycle.js';
import type { OperationalSnapshot } from '../7-cases/metrics-store.js';
import type { QueueDepth } from '../jobs/queue-probe.js';

/**
 * The Prometheus metrics of one `psirt start` process (#15), through prom-client.
 *
 * Where each figure comes from:
 * - SQLite, read at each scrape (cases, deadlines, outbox, pending messages, heartbeats, alarms,
 *   progress marks): the one source of truth (invariant 1), shared by every process of a
 *   `--role` split, so any process's `/metrics` tells the same truth;
 * - Redis, at each scrape: BullMQ job counts per queue and state; Redis down is a 0 of
 *   `psirt_redis_up`, never a failed scrape;
 * - this process only: what happens inside it and is not in SQLite — mail fetched, classified
 *   and failing to decode (counters of this process's intake), its IMAP connection, and the
 *   acknowledgment latency observed by its mailer. Prometheus sums them over processes.
 *
 * NB! Invariant 6: every label value is a word of a fixed vocabulary (stage, kind, state, reason,
 * role, queue, alarm or mark name). Values read from the database go through `word()`, so even a
 * damaged row cannot put an address, a subject or an id into a label.
 */

/** Classification kinds (src/4-classify/classify.ts), listed so each series exists from 0. */
export const MAIL_KINDS = ['new-report', 'follow-up', 'staff', 'automated', 'duplicate'] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

/** Why a fetched mail could not be read as sent (the case flags set while decoding). */
export const DECODE_FAILURES = [
  'corrupt',
  'undecryptable',
  'signature-invalid',
  'oversize',
  'processing-failed',
] as const;
export type DecodeFailure = (typeof DECODE_FAILURES)[number];

/** Deadline kinds (migration 0010's CHECK), listed so each series exists from 0. */
const DEADLINE_KINDS = ['acknowledge', 'triage', 'verify', 'fix', 'disclose'] as const;

/** The service's alarm names (#15, migration 0017), listed so each series exists from 0. */
export const KNOWN_ALARMS = ['mail-roundtrip', 'intake-stalled', 'relay-down'] as const;

/** Acknowledgment latency buckets, seconds: the target is a minute (DESIGN.md), the SLA days. */
const ACK_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 14_400, 86_400, 259_200];

const WORD = /^[a-z][a-z0-9._-]{0,47}$/;

/** A label value from stored data: a vocabulary word, or "other" (never free text). */
export function word(value: string): string {
  return WORD.test(value) ? value : 'other';
}

/** What this process's intake reports (src/pipeline.ts, the IMAP poller through src/roles/intake.ts). */
export interface IntakeObserver {
  fetched(): void;
  classified(kind: MailKind): void;
  decodeFailed(reason: DecodeFailure): void;
  imapConnected(connected: boolean): void;
  /** A complete mailbox sync round ended now. */
  synced(): void;
}

export interface MetricsSources {
  clock: Clock;
  log: Logger;
  version: string;
  /** The SQLite snapshot (src/7-cases/metrics-store.ts). */
  snapshot(now: Date): OperationalSnapshot;
  /** Failed and `unknown` outbox rows by kind; may be up to a minute old (a table scan). */
  outboxProblems(): { kind: string; state: string; n: number }[];
  /** BullMQ job counts; rejects when Redis does not answer (src/jobs/queue-probe.ts). */
  depths(): Promise<QueueDepth[]>;
}

export interface ServiceMetrics {
  readonly registry: Registry;
  readonly intake: IntakeObserver;
  /** The acknowledgment of a report went out `seconds` after the report was fetched. */
  acknowledged(seconds: number): void;
  /** Reads SQLite and Redis, then renders the exposition text (`registry.contentType`). */
  scrape(): Promise<string>;
}

const seconds = (iso: string): number => Date.parse(iso) / 1000;

export function createMetrics(src: MetricsSources): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client's gauges named *_total fail `promtool check metrics` (a non-counter must not end
  // in _total); the same figures remain by type in nodejs_active_handles / _requests / _resources.
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ])
    registry.removeSingleMetric(name);
  const r = [registry];

  new Gauge({
    name: 'psirt_build_info',
    help: 'Always 1; the psirt-inbox version of this process.',
    labelNames: ['version'],
    registers: r,
  }).set({ version: src.version }, 1);

  // --- this process: intake -------------------------------------------------------------
  const fetched = new Counter({
    name: 'psirt_mail_fetched_total',
    help: 'Mails this process fetched from the IMAP mailbox and handed to the pipeline.',
    registers: r,
  });
  const classified = new Counter({
    name: 'psirt_mail_classified_total',
    help: 'Mails this process applied, by classification kind.',
    labelNames: ['kind'],
    registers: r,
  });
  const decodeFailures = new Counter({
    name: 'psirt_decode_failures_total',
    help: 'Mails this process could not read as sent, by reason.',
    labelNames: ['reason'],
    registers: r,
  });
  for (const kind of MAIL_KINDS) classified.inc({ kind }, 0);
  for (const reason of DECODE_FAILURES) decodeFailures.inc({ reason }, 0);
  const imapConnected = new Gauge({
    name: 'psirt_imap_connected',
    help: "1 while this process's intake holds an IMAP connection, else 0 (absent: no intake here).",
    registers: r,
  });
  const imapLastSync = new Gauge({
    name: 'psirt_imap_last_sync_timestamp_seconds',
    help: "When this process's intake last completed a mailbox sync (fetch) round, Unix time.",
    registers: r,
  });

  // --- this process: mailer ---------------------------------------------------------------
  const ackLatency = new Histogram({
    name: 'psirt_acknowledgment_latency_seconds',
    help: 'From a report being fetched to its acknowledgment being accepted by the SMTP relay.',
    buckets: ACK_BUCKETS,
    registers: r,
  });

  // --- SQLite, at each scrape ----------------------------------------------------------------
  const sqliteUp = new Gauge({
    name: 'psirt_sqlite_up',
    help: '1 when the last scrape could read the database, else 0.',
    registers: r,
  });
  const cases = new Gauge({
    name: 'psirt_cases',
    help: 'Cases by stage.',
    labelNames: ['stage'],
    registers: r,
  });
  const flagged = new Gauge({
    name: 'psirt_cases_flagged',
    help: 'Open cases carrying a flag (undecryptable, corrupt, oversize, key-changed, …).',
    labelNames: ['flag'],
    registers: r,
  });
  const deadlines = new Gauge({
    name: 'psirt_deadlines',
    help: 'Deadlines still running (open) or paused, by deadline kind.',
    labelNames: ['deadline', 'state'],
    registers: r,
  });
  const missed = new Gauge({
    name: 'psirt_deadlines_missed',
    help: 'Open deadlines past their due time, by deadline kind.',
    labelNames: ['deadline'],
    registers: r,
  });
  const outbox = new Gauge({
    name: 'psirt_outbox',
    help: 'Outbox rows by mail kind and state (pending, sending, sent, failed, unknown).',
    labelNames: ['kind', 'state'],
    registers: r,
  });
  const pending = new Gauge({
    name: 'psirt_messages_pending',
    help: 'Stored mails not yet applied (in progress, or retried after a failed attempt).',
    registers: r,
  });
  const heartbeat = new Gauge({
    name: 'psirt_role_heartbeat_timestamp_seconds',
    help: 'Latest heartbeat of each running role (any host, any process), Unix time.',
    labelNames: ['role'],
    registers: r,
  });
  const heartbeatAge = new Gauge({
    name: 'psirt_role_heartbeat_age_seconds',
    help: 'Seconds since the latest heartbeat of each role.',
    labelNames: ['role'],
    registers: r,
  });
  const alarms = new Gauge({
    name: 'psirt_alarm_active',
    help: 'Alarms the service raised about itself: 1 while open (mail-roundtrip, intake-stalled, relay-down).',
    labelNames: ['alarm'],
    registers: r,
  });
  const marks = new Gauge({
    name: 'psirt_progress_timestamp_seconds',
    help: 'Last progress of a part of the service (mark intake.synced: a complete mailbox sync), Unix time.',
    labelNames: ['mark'],
    registers: r,
  });

  // --- Redis, at each scrape -----------------------------------------------------------------
  const redisUp = new Gauge({
    name: 'psirt_redis_up',
    help: '1 when the last scrape could read the job queues from Redis, else 0.',
    registers: r,
  });
  const queueJobs = new Gauge({
    name: 'psirt_queue_jobs',
    help: 'BullMQ jobs by queue and state (from Redis; absent while Redis is down).',
    labelNames: ['queue', 'state'],
    registers: r,
  });

  function readSqlite(now: Date): void {
    let s: OperationalSnapshot;
    let problems: { kind: string; state: string; n: number }[];
    try {
      s = src.snapshot(now);
      problems = src.outboxProblems();
    } catch (err) {
      sqliteUp.set(0);
      src.log.warn({ event: 'metrics.sqlite-failed', err: describeError(err) }, 'metrics: SQLite not read');
      return;
    }
    sqliteUp.set(1);
    cases.reset();
    for (const stage of STAGES) cases.set({ stage }, 0);
    for (const c of s.casesByStage) cases.set({ stage: word(c.stage) }, c.n);
    flagged.reset();
    for (const flag of CASE_FLAGS) flagged.set({ flag }, 0);
    for (const f of s.openCasesByFlag) flagged.inc({ flag: word(f.flag) }, f.n);
    deadlines.reset();
    missed.reset();
    for (const deadline of DEADLINE_KINDS) {
      for (const state of ['open', 'paused']) deadlines.set({ deadline, state }, 0);
      missed.set({ deadline }, 0);
    }
    for (const d of s.deadlines) {
      deadlines.inc({ deadline: word(d.kind), state: word(d.state) }, d.n);
      missed.inc({ deadline: word(d.kind) }, d.missed);
    }
    outbox.reset();
    // sent = all rows of a kind less those in another state (the states of migration 0004).
    const sent = new Map(s.outboxTotals.map((t) => [word(t.kind), t.n]));
    for (const o of [...s.outboxUnsent, ...problems]) {
      const kind = word(o.kind);
      outbox.inc({ kind, state: word(o.state) }, o.n);
      sent.set(kind, (sent.get(kind) ?? 0) - o.n);
    }
    for (const [kind, n] of sent) outbox.inc({ kind, state: 'sent' }, Math.max(0, n));
    pending.set(s.messagesPending);
    heartbeat.reset();
    heartbeatAge.reset();
    for (const h of s.heartbeats) {
      const role = word(h.role);
      heartbeat.set({ role }, seconds(h.beatAt));
      heartbeatAge.set({ role }, Math.max(0, now.getTime() / 1000 - seconds(h.beatAt)));
    }
    alarms.reset();
    for (const alarm of KNOWN_ALARMS) alarms.set({ alarm }, 0);
    for (const a of s.openAlarms) alarms.set({ alarm: word(a) }, 1);
    marks.reset();
    for (const m of s.marks) marks.set({ mark: word(m.name) }, seconds(m.at));
  }

  async function readRedis(): Promise<void> {
    try {
      const depths = await src.depths();
      queueJobs.reset();
      for (const d of depths) queueJobs.set({ queue: d.queue, state: d.state }, d.n);
      redisUp.set(1);
    } catch {
      // Not logged per scrape (every 15 s while Redis is down); /readyz and doctor name the cause.
      queueJobs.reset();
      redisUp.set(0);
    }
  }

  return {
    registry,
    intake: {
      fetched: () => fetched.inc(),
      classified: (kind) => classified.inc({ kind }),
      decodeFailed: (reason) => decodeFailures.inc({ reason }),
      imapConnected: (connected) => imapConnected.set(connected ? 1 : 0),
      synced: () => imapLastSync.set(src.clock.now().getTime() / 1000),
    },
    acknowledged: (s) => ackLatency.observe(Math.max(0, s)),
    async scrape() {
      readSqlite(src.clock.now());
      await readRedis();
      return registry.metrics();
    },
  };
}
