import type { Calendar } from '../calendar/calendar.js';
import { describeAckHeld, type AckStatus } from '../7-cases/first-contact.js';
import type { CaseDetail, CaseListRow, DeadlineRow } from '../7-cases/queries.js';
import type { AdvisoryShow } from '../7-cases/advisory-store.js';
import { SEALED_SUBJECT } from '../7-cases/sealed-subject.js';
import type { Config } from '../config/schema.js';
import { rolesFor } from '../6-commands/raci.js';

/** Terminal rendering of `psirt cases list|show`. */

function due(iso: string, now: Date): string {
  const ms = Date.parse(iso) - now.getTime();
  const abs = Math.abs(ms);
  const text =
    abs < 120_000
      ? `${Math.round(abs / 1000)}s`
      : abs < 7_200_000
        ? `${Math.round(abs / 60_000)}m`
        : abs < 172_800_000
          ? `${Math.round(abs / 3_600_000)}h`
          : `${Math.round(abs / 86_400_000)}d`;
  return ms >= 0 ? `in ${text}` : `${text} LATE`;
}

/** Left-aligned columns two spaces apart, the head first. */
function formatTable(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

/** Business time left until `iso` (negative: late), e.g. `1.5 bd left`, `0.3 bd LATE`, plus the wall-clock time. */
export function businessLeft(iso: string, now: Date, calendar: Calendar): string {
  const left = calendar.businessDaysBetween(now, new Date(iso));
  const late = Date.parse(iso) < now.getTime();
  return `${Math.abs(left).toFixed(1)} bd ${late ? 'LATE' : 'left'} (${due(iso, now)})`;
}

export function formatCaseList(
  rows: readonly Omit<CaseListRow, 'subject_sealed'>[],
  now: Date,
  calendar: Calendar,
): string {
  if (rows.length === 0) return 'no cases';
  const table = rows.map((r) => [
    r.id,
    r.stage +
      (r.resolution ? `/${r.resolution}` : '') +
      (r.on_hold ? ' (legal hold)' : '') +
      (r.waiting_on_reporter ? ' (waiting on reporter)' : '') +
      (r.historical ? ' (imported)' : ''),
    r.severity ?? '-',
    r.reporter_address,
    r.next_deadline === null
      ? '-'
      : r.next_deadline.historical
        ? `${r.next_deadline.kind} historical`
        : r.next_deadline.state === 'paused'
          ? `${r.next_deadline.kind} paused`
          : `${r.next_deadline.kind} ${businessLeft(r.next_deadline.due_at, now, calendar)}`,
    r.flags.join(',') || '-',
    r.subject.length > 50 ? `${r.subject.slice(0, 49)}…` : r.subject,
  ]);
  const head = ['CASE', 'STAGE', 'SEVERITY', 'REPORTER', 'NEXT DEADLINE', 'FLAGS', 'SUBJECT'];
  return formatTable(head, table).join('\n');
}

export function formatCaseDetail(d: CaseDetail & { advisory?: AdvisoryShow }): string {
  const c = d.case;
  const out: string[] = [];
  const str = (v: unknown): string =>
    typeof v === 'string' ? v : v === null || v === undefined ? '-' : JSON.stringify(v);
  out.push(`${str(c.id)}  ${str(c.subject)}`);
  out.push(
    `  stage ${str(c.stage)}${c.resolution ? ` (${str(c.resolution)})` : ''}, severity ${str(c.severity)}, assignee ${str(c.assignee)}`,
  );
  out.push(
    `  reporter ${str(c.reporter_address)}${c.reporter_name ? ` (${str(c.reporter_name)})` : ''}, opened ${str(c.created_at)}`,
  );
  if (c.cvss_vector) out.push(`  CVSS ${str(c.cvss_score)} ${str(c.cvss_vector)}`);
  const extra = [
    c.cve ? `CVE ${str(c.cve)}` : '',
    c.fix_by ? `fix by ${str(c.fix_by)}` : '',
    c.disclose_on ? `disclosure ${str(c.disclose_on)}` : '',
    c.advisory_url ? `advisory ${str(c.advisory_url)}` : '',
    c.waiting_on_reporter ? 'waiting on the reporter' : '',
  ].filter((x) => x !== '');
  if (extra.length > 0) out.push(`  ${extra.join(', ')}`);
  const hold = legalHold(c);
  if (hold !== null) out.push(`  ${hold}`);
  const flags = c.flags as string[];
  if (flags.length > 0) out.push(`  flags: ${flags.join(', ')}`);
  const tags = c.tags as string[];
  if (tags.length > 0) out.push(`  tags: ${tags.join(', ')}`);
  const external = c.external as string[];
  if (external.length > 0) out.push(`  outside expertise: ${external.join(', ')}`);
  if (c.historical === 1) out.push('  imported from old mail (psirt import): its deadlines are historical');
  out.push(`  acknowledgment: ${formatAck(d.acknowledgment)}`);
  if (d.advisory !== undefined) out.push(...formatAdvisory(c, d.advisory));
  out.push('', 'Deadlines:');
  for (const x of d.deadlines)
    out.push(`  ${x.kind.padEnd(12)} ${x.due_at}  ${historicalState(x)}${x.met_at ? ` at ${x.met_at}` : ''}`);
  out.push('', 'Messages:');
  for (const m of d.messages) {
    out.push(
      `  #${m.id} <${m.message_id ?? '-'}> from ${m.sender ?? '-'} ${m.size} bytes, ${m.state}${m.filed_to ? `, filed to ${m.filed_to}` : ''}${m.failure ? `, ${m.failure}` : ''}`,
    );
    if (m.verdict) out.push(`      ${JSON.stringify(m.verdict)}`);
  }
  out.push('', 'Reporter keys:');
  if (d.keys.length === 0) out.push('  none');
  for (const k of d.keys)
    out.push(`  ${k.fingerprint} ${k.status} (from ${k.source}, first seen ${k.first_seen_at})`);
  out.push('', 'Outbox:');
  for (const o of d.outbox) {
    out.push(
      `  #${o.id} ${o.kind} → ${o.recipients.join(', ')}: ${o.state}${o.sent_at ? ` ${o.sent_at}` : ''}${o.last_error ? ` (${o.last_error})` : ''}`,
    );
  }
  if (d.links.length > 0) {
    out.push('', 'Links:');
    for (const l of d.links) out.push(`  ${l.kind} ${l.other_id}`);
  }
  // Each event's id and the first 16 hex digits of its chain hash (`--json`: in full, with the
  // previous hash), so a timeline shared outside the database can be checked (`psirt verify`).
  out.push('', 'Timeline (event, hash):');
  for (const e of d.timeline) {
    out.push(
      `  #${e.id} ${e.hash.slice(0, 16)}  ${e.at}  ${e.type.padEnd(24)} ${e.actor}${e.auth ? ` [${e.auth}]` : ''}${e.message_id ? ` <${e.message_id}>` : ''}  ${JSON.stringify(e.data)}`,
    );
  }
  return out.join('\n');
}

/**
 * "legal hold: <reason> (since <date>, by <who>)" for a held case (issue #13), null otherwise.
 * A hold set before #13 recorded no reason, time or staff member.
 */
export function legalHold(c: Record<string, unknown>): string | null {
  if (c.on_hold !== true) return null;
  const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
  const reason = text(c.hold_reason) ?? '(no reason recorded)';
  const since = text(c.held_at);
  const by = text(c.held_by);
  const when = [since === null ? null : `since ${since}`, by === null ? null : `by ${by}`].filter(
    (x) => x !== null,
  );
  return `legal hold: ${reason}${when.length > 0 ? ` (${when.join(', ')})` : ''}`;
}

function formatAck(a: AckStatus): string {
  switch (a.state) {
    case 'mailed':
      return `${a.byCommand ? 'sent by /ack' : 'automatic'}, outbox #${a.outboxId} ${a.outboxState}`;
    case 'held':
      return `HELD BACK: ${describeAckHeld(a.held)}; a staff reply with /ack sends it`;
    case 'skipped':
      return `none (${a.reason})`;
    case 'none':
      return 'none';
  }
}

/** The RACI matrix as a table, with the staff holding each role (`psirt raci`). */
export function formatRaci(config: Pick<Config, 'raci' | 'staff'>): string {
  const head = ['ACTIVITY', 'COMMANDS', 'R', 'A', 'C', 'I'];
  const table = config.raci.map((a) => [
    a.activity,
    a.commands.map((c) => `/${c}`).join(' '),
    a.responsible.join(', '),
    a.accountable,
    a.consulted.join(', ') || '-',
    a.informed.join(', ') || '-',
  ]);
  const roles = [...new Set(config.staff.flatMap((m) => m.roles))].sort();
  const who = roles.map(
    (r) =>
      `  ${r.padEnd(15)} ${config.staff
        .filter((m) => m.roles.includes(r))
        .map((m) => `${m.name} <${m.address}>`)
        .join(', ')}`,
  );
  const runners = config.raci.map(
    (a) => `  ${a.activity}: ${rolesFor(a).join(' or ')} may run ${a.commands.map((c) => `/${c}`).join(' ')}`,
  );
  return [
    ...formatTable(head, table),
    '',
    'Who may run the commands (Responsible or Accountable; /help and /note: all staff):',
    ...runners,
    '',
    'Staff by role:',
    ...who,
  ].join('\n');
}

/** A deadline's state, `historical` for an open one of imported history (never live work, #15). */
function historicalState(x: { state: string; historical: boolean }): string {
  if (!x.historical) return x.state;
  return x.state === 'open' || x.state === 'paused' ? 'historical' : `${x.state} (historical)`;
}

/** `psirt deadlines`: what is due or late across cases, soonest first. */
export function formatDeadlines(
  rows: readonly DeadlineRow[],
  now: Date,
  calendar: Calendar,
  only: { late: boolean } = { late: false },
): string {
  if (rows.length === 0) return only.late ? 'no deadline is late' : 'no open deadlines';
  const head = [
    'CASE',
    'DEADLINE',
    'DUE (UTC)',
    'TIME LEFT',
    'STAGE',
    'SEVERITY',
    'ASSIGNEE',
    'NEXT ESCALATION',
  ];
  const table = rows.map((r) => [
    r.case_id,
    r.kind + (r.state === 'paused' ? ' (paused)' : ''),
    r.due_at.replace('T', ' ').slice(0, 16),
    r.historical ? 'historical' : r.state === 'paused' ? 'paused' : businessLeft(r.due_at, now, calendar),
    r.stage,
    r.severity ?? '-',
    r.assignee ?? '-',
    r.next_step_at ? r.next_step_at.replace('T', ' ').slice(0, 16) : '-',
  ]);
  return formatTable(head, table).join('\n');
}

/** The advisory of `psirt cases show` (issue #14): fields, draft, credit, versions. */
function formatAdvisory(c: Record<string, unknown>, a: AdvisoryShow): string[] {
  const opt = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const out = ['', 'Advisory:'];
  const f = a.fields;
  if (f === null) out.push('  no fields set');
  else if (f === 'sealed') out.push(`  fields ${SEALED_SUBJECT} (the team key passphrase opens them)`);
  else {
    out.push(`  title    ${f.title ?? '-'}`);
    out.push(`  cwe      ${f.cwe ?? '-'}`);
    for (const x of f.affected) out.push(`  affects  ${x.product} ${x.range.text}`);
    for (const x of f.fixed) out.push(`  fixed in ${x.product} ${x.version}`);
    for (const r of f.references) out.push(`  ref      ${r}`);
    if (f.summary !== null) {
      out.push('  summary:');
      for (const line of f.summary.split('\n')) out.push(`    ${line}`);
    }
  }
  const draft = opt(c.draft_sent_at);
  const noDraft = opt(c.no_draft_reason);
  out.push(
    `  draft: ${draft !== null ? `sent ${draft}` : 'not sent'}${noDraft !== null ? `; no draft: ${noDraft}` : ''}`,
  );
  const pref = opt(c.credit_preference);
  const prefAt = opt(c.credit_preference_at);
  out.push(
    `  reporter's credit: ${pref === null ? 'not stated' : pref === '' ? 'none (not to be named)' : pref}${prefAt !== null ? ` (stated ${prefAt})` : ''}`,
  );
  const credit = opt(c.credit);
  if (credit !== null) out.push(`  credit set by staff: ${credit === '' ? 'none' : credit}`);
  const override = opt(c.credit_override_reason);
  if (override !== null) out.push(`  credit override: ${override}`);
  if (a.versions.length === 0) out.push('  versions: none');
  for (const v of a.versions) {
    out.push(
      `  ${v.kind} ${v.number} ${v.created_at} by ${v.created_by}${v.summary === '' ? '' : `: ${v.summary}`}`,
    );
  }
  return out;
}
