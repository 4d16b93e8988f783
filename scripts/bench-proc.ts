/**
 * What the bench reads from /proc (issue #16): CPU and RSS of the service's process tree, and
 * where the machine's CPU went while it ran — the mail stack (Postfix, Dovecot), Redis, the rest.
 * On a machine that runs the stack beside the service, the stack's CPU per mail bounds what any
 * service can reach there: the bench prints that bound beside our figures.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Clock ticks per second of /proc/<pid>/stat, read once (not on every sample). */
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** The fields of /proc/<pid>/stat (or a task's) after the command name: field 3 is index 0. */
function statFields(path: string): string[] {
  return readFileSync(path, 'utf8').split(') ')[1]?.split(' ') ?? [];
}

/** The process and its descendants (a service that starts mailer processes of its own). */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i] ?? 0;
    for (const task of readdirSync(`/proc/${p}/task`)) {
      let kids: string;
      try {
        kids = readFileSync(`/proc/${p}/task/${task}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const k of kids.split(' ').filter((x) => x !== '')) out.push(Number(k));
    }
  }
  return out;
}

/** CPU seconds and RSS (MB) summed over a process tree, and how many processes it has. */
export function treeUsage(pid: number): { cpuSeconds: number; rssMb: number; processes: number } {
  let cpuSeconds = 0;
  let rssMb = 0;
  const pids = processTree(pid);
  for (const p of pids) {
    try {
      const u = usage(p);
      cpuSeconds += u.cpuSeconds;
      rssMb += u.rssMb;
    } catch {
      // ended between the listing and the read
    }
  }
  return { cpuSeconds, rssMb, processes: pids.length };
}

/** CPU seconds (user + system) and peak RSS (MB) of a process, from /proc. */
function usage(pid: number): { cpuSeconds: number; peakRssMb: number; rssMb: number } {
  const stat = statFields(`/proc/${pid}/stat`);
  const cpu = (Number(stat[11]) + Number(stat[12])) / TICKS;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { cpuSeconds: cpu, peakRssMb: kb('VmHWM'), rssMb: kb('VmRSS') };
}

/**
 * CPU seconds a process tree used since it started, its reaped children included: a process
 * that ended was folded into its parent's cutime/cstime when reaped, so the sum over the live
 * processes of utime + stime + cutime + cstime counts every process of the tree once, also
 * Postfix's short-lived smtpd/cleanup/lmtp processes. Compare two readings, not one.
 */
function treeCpuWithReaped(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = statFields(`/proc/${p}/stat`);
      ticks += Number(stat[11]) + Number(stat[12]) + Number(stat[13]) + Number(stat[14]);
    } catch {
      // ended between the listing and the read: its times are in its parent's now (or soon)
    }
  }
  return ticks / TICKS;
}

/**
 * CPU seconds of a process's main thread alone (its task whose id is the pid): the rest of the
 * process's CPU went to its other threads — compose threads, libuv's pool (fsync, WebCrypto
 * jobs), V8's helpers (GC, compilation).
 */
export function mainThreadCpuSeconds(pid: number): number {
  const stat = statFields(`/proc/${pid}/task/${pid}/stat`);
  return (Number(stat[11]) + Number(stat[12])) / TICKS;
}

/** The pid in a daemon's pid file (Postfix pads it with spaces), or null. */
function pidFile(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').replace(/\D/g, ''));
    return pid > 0 && existsSync(`/proc/${String(pid)}`) ? pid : null;
  } catch {
    return null;
  }
}

/** Busy CPU seconds of the whole machine (every core, /proc/stat: all but idle and iowait). */
function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / TICKS;
}

/** A reading of where the machine's CPU went so far (seconds); subtract two readings. */
export interface MachineCpu {
  /** Postfix's and Dovecot's process trees (the test stack's, test/stack/stack.sh). */
  mailStack: number;
  redis: number;
  machine: number;
}

/** Reads the CPU of the stack in `stackDir` and of the whole machine. */
export function machineCpu(stackDir: string): MachineCpu {
  const tree = (file: string): number => {
    const pid = pidFile(join(stackDir, file));
    return pid === null ? 0 : treeCpuWithReaped(pid);
  };
  return {
    mailStack: tree('postfix/queue/pid/master.pid') + tree('dovecot/run/master.pid'),
    redis: tree('redis/redis.pid'),
    machine: machineBusySeconds(),
  };
}

/** `f` of each field of `a` and `b`. */
function zip(a: MachineCpu, b: MachineCpu, f: (x: number, y: number) => number): MachineCpu {
  return {
    mailStack: f(a.mailStack, b.mailStack),
    redis: f(a.redis, b.redis),
    machine: f(a.machine, b.machine),
  };
}

/** `after − before`, field by field. */
export function cpuSince(before: MachineCpu, after: MachineCpu): MachineCpu {
  return zip(after, before, (x, y) => x - y);
}

/** A MachineCpu difference per report, in ms. */
export function perReport(used: MachineCpu, reports: number): MachineCpu {
  return zip(used, used, (x) => (x / reports) * 1000);
}
