/**
 * The dead-man on the mail path (#15), pure: what the probe header says and whether a round trip
 * or the intake counts as lost. The I/O (the probe mail, the alarm rows, the intake's recognition)
 * lives in src/7-cases/probe-store.ts, src/roles/escalation.ts and src/pipeline.ts.
 */

/** The header a probe carries: `v1 <data key id> <token> <sent at, ISO> <MAC>`. */
export const PROBE_HEADER = 'X-Psirt-Probe';

/** The mark the intake sets after each complete mailbox sync (`service_marks`; the metrics read it). */
export const INTAKE_SYNCED = 'intake.synced';

/** Alarm names (the `alarms.name` slugs the metrics and doctor show). */
export const ALARMS = {
  roundtrip: 'mail-roundtrip',
  intakeStalled: 'intake-stalled',
  relayDown: 'relay-down',
} as const;
export type AlarmName = (typeof ALARMS)[keyof typeof ALARMS];

/** One probe header, parsed; `signed` is the text the MAC covers. Not yet authenticated. */
export interface ProbeClaim {
  keyId: number;
  token: string;
  sentAt: string;
  tag: string;
  signed: string;
}

const TOKEN = /^[A-Za-z0-9_-]{16,64}$/;
const TAG = /^[A-Za-z0-9_-]{43}$/;

/** What the MAC covers: the version, the token and the time it was sent. */
export function probeSigned(token: string, sentAt: string): string {
  return `psirt-probe v1 ${token} ${sentAt}`;
}

export function formatProbeHeader(keyId: number, token: string, sentAt: string, tag: string): string {
  return `v1 ${String(keyId)} ${token} ${sentAt} ${tag}`;
}

/**
 * Parses a probe header value (attacker-controlled: bounded and split, no backtracking pattern
 * over the whole value). Null for anything that is not exactly the shape we write.
 */
export function parseProbeHeader(value: string): ProbeClaim | null {
  if (value.length > 256) return null;
  const parts = value.trim().split(' ');
  if (parts.length !== 5) return null;
  const [version, keyId, token, sentAt, tag] = parts as [string, string, string, string, string];
  if (version !== 'v1' || !/^\d{1,9}$/.test(keyId) || !TOKEN.test(token) || !TAG.test(tag)) return null;
  if (sentAt.length > 30 || Number.isNaN(Date.parse(sentAt))) return null;
  return { keyId: Number(keyId), token, sentAt, tag, signed: probeSigned(token, sentAt) };
}

/** The probes as the check sees them: the oldest one still out, and the newest that came back. */
export interface ProbeFacts {
  /** The oldest probe not returned that was sent after the newest returned one. */
  oldestOut: { sentAt: Date; dueAt: Date } | null;
}

export type Verdict = { state: 'fine' } | { state: 'lost'; since: Date };

/**
 * A round trip is lost when a probe sent after the last one that came back is past its window;
 * it recovers when a later probe comes back (the oldest one out is then newer, or none).
 */
export function roundtripVerdict(facts: ProbeFacts, now: Date): Verdict {
  const out = facts.oldestOut;
  if (out === null || out.dueAt.getTime() > now.getTime()) return { state: 'fine' };
  return { state: 'lost', since: out.sentAt };
}

/**
 * The intake is stalled when its last complete sync (or, when it never synced, the moment the
 * check started watching) is older than `afterSeconds`.
 */
export function intakeVerdict(
  lastSync: Date | null,
  watchingSince: Date,
  now: Date,
  afterSeconds: number,
): Verdict {
  const since = lastSync ?? watchingSince;
  return now.getTime() - since.getTime() > afterSeconds * 1000 ? { state: 'lost', since } : { state: 'fine' };
}

/** Whether a new probe is due: none sent yet, or the last one `intervalSeconds` ago or more. */
export function probeDue(lastSent: Date | null, now: Date, intervalSeconds: number): boolean {
  return lastSent === null || now.getTime() - lastSent.getTime() >= intervalSeconds * 1000;
}

/**
 * The oldest a probe may be when it comes back and still count as ours: twice the window plus
 * one interval. Older, it is refused (ordinary mail): a header kept that long is a replay, not a
 * round trip, and the round-trip alarm has long been raised for it.
 */
export function probeMaxAgeSeconds(windowSeconds: number, intervalSeconds: number): number {
  return 2 * windowSeconds + intervalSeconds;
}
