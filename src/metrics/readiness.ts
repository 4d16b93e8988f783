import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { describeError } from '../core/errors.js';

/**
 * `/readyz` (#15): is each dependency reachable from this process? Each check resolves when it
 * is and rejects (with a reason naming no secret) when it is not, within the probe timeout. The
 * answer is cached for a few seconds so that probes and scrapes do not hammer the servers.
 */

export type ReadinessCheck = () => Promise<void>;

export interface ComponentState {
  state: 'up' | 'down';
  /** Why it is down: a class and message, never a secret (the checks name no credential). */
  error?: string;
}

export interface ReadinessReport {
  ready: boolean;
  components: Record<string, ComponentState>;
}

export interface Readiness {
  check(): Promise<ReadinessReport>;
}

export function createReadiness(
  checks: Readonly<Record<string, ReadinessCheck>>,
  opts: { cacheMs: number; now: () => number },
): Readiness {
  let cached: { at: number; report: Promise<ReadinessReport> } | null = null;
  async function run(): Promise<ReadinessReport> {
    const names = Object.keys(checks);
    const results = await Promise.allSettled(names.map((n) => (checks[n] as ReadinessCheck)()));
    const components: Record<string, ComponentState> = {};
    results.forEach((res, i) => {
      components[names[i] as string] =
        res.status === 'fulfilled'
          ? { state: 'up' }
          : { state: 'down', error: describeError(res.reason).slice(0, 200) };
    });
    return { ready: results.every((x) => x.status === 'fulfilled'), components };
  }
  return {
    check() {
      const now = opts.now();
      // One probe at a time: concurrent requests share the answer being computed.
      if (cached === null || now - cached.at >= opts.cacheMs) cached = { at: now, report: run() };
      return cached.report;
    },
  };
}

export interface GreetingProbe {
  host: string;
  port: number;
  /** Implicit TLS (IMAPS, SMTPS); otherwise the greeting comes in clear (also before STARTTLS). */
  implicitTls: boolean;
  rejectUnauthorized: boolean;
  ca?: Buffer;
  timeoutMs: number;
  /** The greeting a healthy server sends first: `* OK` (IMAP, RFC 9051 §7.1.1), `220` (SMTP). */
  expect: 'imap' | 'smtp';
}

const GREETING = { imap: /^\* (OK|PREAUTH)\b/i, smtp: /^220[ -]/ } as const;

/**
 * Connects, reads the server's first line and hangs up: the server accepts connections and
 * answers as an IMAP or SMTP server should. No login, so no credential ever travels here (a
 * full login is `psirt doctor`'s job). The line read is bounded (1 KiB).
 */
export function probeGreeting(p: GreetingProbe): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket: Socket = p.implicitTls
      ? connectTls({
          host: p.host,
          port: p.port,
          servername: p.host,
          rejectUnauthorized: p.rejectUnauthorized,
          ...(p.ca === undefined ? {} : { ca: p.ca }),
        })
      : connectTcp({ host: p.host, port: p.port });
    let buf = '';
    let settled = false;
    const done = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err === undefined) resolve();
      else reject(err);
    };
    const timer = setTimeout(
      () => done(new Error(`${p.host}:${p.port}: no greeting within ${p.timeoutMs} ms`)),
      p.timeoutMs,
    );
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      const end = buf.indexOf('\n');
      if (end < 0 && buf.length < 1024) return;
      const line = (end < 0 ? buf : buf.slice(0, end)).replace(/\r$/, '');
      if (GREETING[p.expect].test(line)) done();
      else done(new Error(`${p.host}:${p.port}: unexpected ${p.expect.toUpperCase()} greeting`));
    });
    socket.on('error', (err) => done(new Error(`${p.host}:${p.port}: ${describeError(err)}`)));
    socket.on('close', () => done(new Error(`${p.host}:${p.port}: closed before the greeting`)));
  });
}
