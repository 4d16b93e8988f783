import type { CommandName, ParsedCommands, Resolution, Severity, StaffCommand } from './grammar.js';
import { COMMAND_HELP } from './grammar.js';
import { scoreCvss } from './cvss.js';
import type { RaciActivity, StaffMember, StatusEvent } from '../config/schema.js';
import { assertNever } from '../core/errors.js';
import { transition, type Stage, type StageChange } from './lifecycle.js';
import { commandsFor, mayRun } from './raci.js';
import { staffByAddress } from '../core/staff.js';

/** A case as the commands see it (the store maps its row to this and back). */
export interface CaseState {
  id: string;
  stage: Stage;
  resolution: Resolution | null;
  severity: Severity | null;
  cvssVector: string | null;
  cvssScore: number | null;
  assignee: string | null;
  onHold: boolean;
  waitingOnReporter: boolean;
  tags: string[];
  cve: string | null;
  fixBy: string | null;
  discloseOn: string | null;
  advisoryUrl: string | null;
  credit: string | null;
  external: string[];
  reporterAddress: string;
  closedAt: string | null;
  reopenedAt: string | null;
  triagedAt: string | null;
  verifiedAt: string | null;
  fixedAt: string | null;
  publishedAt: string | null;
}

export interface PlanContext {
  /** ISO time of the change. */
  now: string;
  /** Today's local date (YYYY-MM-DD) in the calendar's zone: agreed dates may not lie before it. */
  today: string;
  actor: StaffMember;
  staff: readonly StaffMember[];
  raci: readonly RaciActivity[];
  /** Which status events mail the reporter (config `status_mails.events`). */
  statusEvents: readonly StatusEvent[];
  /** Whether another case with this id exists (for /duplicate and /link). */
  caseExists(id: string): boolean;
  /** The staff member's own text (quoted thread and signature removed), for /reply. */
  ownText: string;
  /**
   * What became of the case's acknowledgment, for /ack: `held` by the flood guard (issue #10),
   * `mailed` (queued or sent), `skipped` (no sender address), or `none`.
   */
  acknowledgment: 'held' | 'mailed' | 'skipped' | 'none';
}

export interface CommandOutcome {
  /** The command as written, e.g. `/assign bob`. */
  text: string;
  applied: boolean;
  /** What happened, or why not. */
  detail: string;
}

/** One audit event per change; the store adds actor, authentication and Message-ID. */
export interface PlannedEvent {
  type: string;
  data: Record<string, unknown>;
}

export interface CommandPlan {
  outcomes: CommandOutcome[];
  /** The case after every applied command. */
  final: CaseState;
  events: PlannedEvent[];
  links: { otherId: string; kind: 'related' | 'duplicate-of' }[];
  /** Status mails for the reporter, in order (only events enabled in config). */
  statusMails: StatusEvent[];
  /** The body goes to the reporter (a valid /reply). */
  reply: boolean;
  /** The held acknowledgment goes to the reporter (a valid /ack). */
  ack: boolean;
  /** The grammar and the actor's commands are sent back (/help). */
  help: boolean;
  /** A staff member newly assigned (told by mail unless it is the actor). */
  assigned: string | null;
}

/** The text of a command as staff wrote it, for confirmations. */
export function commandText(c: StaffCommand): string {
  switch (c.name) {
    case 'assign':
      return `/assign ${c.staff}`;
    case 'severity':
      return `/severity ${c.severity}`;
    case 'cvss':
      return `/cvss ${c.vector}`;
    case 'fix-by':
    case 'disclose':
      return `/${c.name} ${c.date}`;
    case 'cve':
      return `/cve ${c.id}`;
    case 'tag':
      return `/tag ${c.word}`;
    case 'external':
      return `/external "${c.org}"`;
    case 'duplicate':
    case 'link':
      return `/${c.name} ${c.caseId}`;
    case 'close':
      return `/close ${c.resolution}`;
    case 'publish':
      return `/publish ${c.url}`;
    case 'credit':
      return `/credit "${c.credit}"`;
    case 'help':
    case 'triage':
    case 'verified':
    case 'fixed':
    case 'reply':
    case 'ack':
    case 'note':
    case 'reopen':
    case 'hold':
    case 'unhold':
    case 'pause':
      return `/${c.name}`;
    default:
      return assertNever(c);
  }
}

class Refused {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}
const refuse = (reason: string): Refused => new Refused(reason);

/** Commands that still make sense on a closed case. */
const ON_CLOSED: ReadonlySet<CommandName> = new Set([
  'help',
  'note',
  'reply',
  'cve',
  'tag',
  'link',
  'reopen',
  'hold',
  'unhold',
  'credit',
]);

/** Finds a staff member by address, local part or name (case-insensitive). */
export function findStaff(staff: readonly StaffMember[], who: string): StaffMember | null {
  const w = who.toLowerCase();
  return (
    staffByAddress(staff, w) ??
    staff.find((s) => s.address.split('@')[0] === w) ??
    staff.find((s) => s.name.toLowerCase() === w || s.name.toLowerCase().split(/\s+/)[0] === w) ??
    null
  );
}

/**
 * Plans what an authenticated staff mail does to a case: each command, left to right, checked
 * against the RACI matrix and the lifecycle, applied to a working copy of the case or rejected
 * with the reason. Pure: the store writes the plan in one transaction.
 */
export function planCommands(state: CaseState, parsed: ParsedCommands, ctx: PlanContext): CommandPlan {
  const s: CaseState = { ...state, tags: [...state.tags], external: [...state.external] };
  const outcomes: CommandOutcome[] = parsed.rejected.map((r) => ({
    text: r.text,
    applied: false,
    detail: r.reason,
  }));
  const events: PlannedEvent[] = [];
  const links: CommandPlan['links'] = [];
  const status: StatusEvent[] = [];
  let reply = false;
  let ack = false;
  let help = false;
  // Assigned inside apply(): declared this way so the narrowing does not assume it stays null.
  let assigned = null as string | null;

  const move = (change: StageChange, command: string): string | null => {
    const t = transition(s.stage, change);
    if (!t.ok) return t.reason;
    events.push({ type: 'case.stage-changed', data: { from: t.from, to: t.to, command } });
    s.stage = t.to;
    return null;
  };
  const futureDate = (date: string): string | null =>
    date < ctx.today ? `${date} is in the past (today is ${ctx.today})` : null;

  /** Applies one command; returns what happened, or why it was refused. */
  const apply = (c: StaffCommand): string | Refused => {
    const text = commandText(c);
    switch (c.name) {
      case 'help':
        help = true;
        return 'the command list is below';
      case 'note':
        return 'the body is kept as an internal note';
      case 'triage': {
        const why = move({ kind: 'triaged' }, text);
        if (why !== null) return refuse(why);
        s.triagedAt = ctx.now;
        status.push('triaged');
        return 'triaged; the case is now verifying';
      }
      case 'assign': {
        const member = findStaff(ctx.staff, c.staff);
        if (member === null) {
          return refuse(
            `no staff member "${c.staff}" (staff: ${ctx.staff.map((m) => m.address.split('@')[0]).join(', ')})`,
          );
        }
        const address = member.address;
        if (s.assignee === address) return `already assigned to ${member.name}`;
        events.push({ type: 'case.assigned', data: { assignee: address, previous: s.assignee } });
        s.assignee = address;
        assigned = address;
        return `assigned to ${member.name} <${address}>`;
      }
      case 'severity': {
        events.push({ type: 'case.severity-set', data: { severity: c.severity, previous: s.severity } });
        s.severity = c.severity;
        return `severity ${c.severity}`;
      }
      case 'cvss': {
        const score = scoreCvss(c.vector);
        if (!score.ok) return refuse(score.reason);
        events.push({
          type: 'case.severity-set',
          data: {
            severity: score.severity,
            previous: s.severity,
            cvss: { version: score.version, vector: score.vector, score: score.score },
          },
        });
        s.cvssVector = score.vector;
        s.cvssScore = score.score;
        s.severity = score.severity;
        return `CVSS ${score.version} base score ${score.score.toFixed(1)}: severity ${score.severity}`;
      }
      case 'verified': {
        const why = move({ kind: 'verified' }, text);
        if (why !== null) return refuse(why);
        s.verifiedAt = ctx.now;
        s.triagedAt ??= ctx.now;
        status.push('verified');
        return s.severity === null
          ? 'verified; the case is now fixing (no severity yet: set /cvss or /severity for a fix deadline)'
          : `verified; the case is now fixing (severity ${s.severity})`;
      }
      case 'fix-by': {
        const why = futureDate(c.date);
        if (why !== null) return refuse(why);
        events.push({ type: 'case.fix-by-set', data: { date: c.date, previous: s.fixBy } });
        s.fixBy = c.date;
        status.push('fix-scheduled');
        return `fix due by ${c.date}`;
      }
      case 'fixed': {
        const why = move({ kind: 'fixed' }, text);
        if (why !== null) return refuse(why);
        s.fixedAt = ctx.now;
        status.push('fixed');
        return 'fixed; the case is now in disclosure';
      }
      case 'disclose': {
        const why = futureDate(c.date);
        if (why !== null) return refuse(why);
        events.push({ type: 'case.disclosure-scheduled', data: { date: c.date, previous: s.discloseOn } });
        s.discloseOn = c.date;
        status.push('disclosure-scheduled');
        return `disclosure agreed for ${c.date}`;
      }
      case 'cve':
        if (s.cve === c.id) return `already ${c.id}`;
        events.push({ type: 'case.cve-set', data: { cve: c.id, previous: s.cve } });
        s.cve = c.id;
        return `CVE ${c.id}`;
      case 'reply':
        if (ctx.ownText === '') return refuse('the body is empty once the quoted thread is removed');
        if (s.reporterAddress === '') return refuse('the case has no reporter address');
        reply = true;
        events.push({ type: 'case.reply-queued', data: { chars: ctx.ownText.length } });
        return `your text (${ctx.ownText.length} characters, without the quoted thread) goes to the reporter`;
      case 'ack':
        if (s.reporterAddress === '') return refuse('the case has no reporter address');
        if (ctx.acknowledgment === 'mailed' || ack) return refuse('the reporter was acknowledged already');
        if (ctx.acknowledgment !== 'held') return refuse('no acknowledgment was held back on this case');
        ack = true;
        events.push({ type: 'acknowledgment.queued', data: { by: 'command' } });
        return `the acknowledgment held back goes to ${s.reporterAddress} on their thread`;
      case 'tag':
        if (s.tags.includes(c.word)) return `already tagged ${c.word}`;
        s.tags.push(c.word);
        events.push({ type: 'case.tagged', data: { tag: c.word } });
        return `tagged ${c.word}`;
      case 'external':
        if (!s.external.includes(c.org)) s.external.push(c.org);
        events.push({ type: 'case.external-expertise', data: { organisation: c.org } });
        return `outside expertise recorded: ${c.org}`;
      case 'duplicate': {
        if (c.caseId === s.id) return refuse('a case cannot duplicate itself');
        if (!ctx.caseExists(c.caseId)) return refuse(`there is no case ${c.caseId}`);
        const why = move({ kind: 'close' }, text);
        if (why !== null) return refuse(why);
        links.push({ otherId: c.caseId, kind: 'duplicate-of' });
        close('duplicate', c.caseId);
        return `closed as a duplicate of ${c.caseId}`;
      }
      case 'link':
        if (c.caseId === s.id) return refuse('a case cannot link itself');
        if (!ctx.caseExists(c.caseId)) return refuse(`there is no case ${c.caseId}`);
        links.push({ otherId: c.caseId, kind: 'related' });
        events.push({ type: 'case.linked', data: { other: c.caseId } });
        return `linked to ${c.caseId}`;
      case 'close': {
        const why = move({ kind: 'close' }, text);
        if (why !== null) return refuse(why);
        close(c.resolution, null);
        return `closed (${c.resolution})`;
      }
      case 'reopen': {
        const why = move({ kind: 'reopen' }, text);
        if (why !== null) return refuse(why);
        events.push({ type: 'case.reopened', data: { resolution: s.resolution } });
        s.resolution = null;
        s.closedAt = null;
        s.reopenedAt = ctx.now;
        s.triagedAt = null;
        s.verifiedAt = null;
        s.fixedAt = null;
        s.publishedAt = null;
        return 'reopened; the case is back in triage and its deadlines start again';
      }
      case 'hold':
        if (s.onHold) return 'already on hold';
        s.onHold = true;
        events.push({ type: 'case.hold', data: { onHold: true } });
        return 'on hold: deadlines and retention pause';
      case 'unhold':
        if (!s.onHold) return 'was not on hold';
        s.onHold = false;
        events.push({ type: 'case.hold', data: { onHold: false } });
        return 'hold released';
      case 'pause':
        if (s.waitingOnReporter) return 'already waiting on the reporter';
        s.waitingOnReporter = true;
        events.push({ type: 'case.waiting-on-reporter', data: { waiting: true } });
        return 'waiting on the reporter: the clock pauses until they reply';
      case 'publish':
        if (s.stage !== 'disclosure') {
          return refuse(`the case is in stage ${s.stage}; /publish comes after /fixed (stage disclosure)`);
        }
        events.push({ type: 'case.published', data: { url: c.url, cve: s.cve } });
        s.advisoryUrl = c.url;
        s.publishedAt = ctx.now;
        status.push('published');
        return `published at ${c.url}`;
      case 'credit':
        events.push({ type: 'case.credit-set', data: { credit: c.credit } });
        s.credit = c.credit.toLowerCase() === 'none' ? '' : c.credit;
        return s.credit === '' ? 'no credit in the advisory' : `credited as ${s.credit}`;
      default:
        return assertNever(c);
    }
  };

  const close = (resolution: Resolution, duplicateOf: string | null): void => {
    events.push({ type: 'case.closed', data: { resolution, duplicateOf } });
    s.resolution = resolution;
    s.closedAt = ctx.now;
    s.waitingOnReporter = false;
    status.push(`closed-${resolution}`);
  };

  let acted = false;
  for (const c of parsed.commands) {
    const text = commandText(c);
    const permission = mayRun(ctx.raci, ctx.actor, c.name);
    if (!permission.ok) {
      outcomes.push({ text, applied: false, detail: permission.reason });
      continue;
    }
    if (s.stage === 'closed' && !ON_CLOSED.has(c.name)) {
      outcomes.push({ text, applied: false, detail: 'the case is closed (/reopen it first)' });
      continue;
    }
    const result = apply(c);
    if (result instanceof Refused) {
      outcomes.push({ text, applied: false, detail: result.reason });
      continue;
    }
    outcomes.push({ text, applied: true, detail: result });
    if (c.name !== 'help' && c.name !== 'note') acted = true;
  }
  // The first authenticated action on a new report means someone is on it.
  if (acted && s.stage === 'received') move({ kind: 'start-triage' }, '(first staff action)');

  return {
    outcomes,
    final: s,
    events,
    links,
    statusMails: status.filter((e) => ctx.statusEvents.includes(e)),
    reply,
    ack,
    help,
    assigned: assigned === ctx.actor.address ? null : assigned,
  };
}

/** The `/help` text for one staff member: the grammar, and which commands their roles allow. */
export function helpText(raci: readonly RaciActivity[], member: StaffMember): string {
  const mine = new Set<string>(commandsFor(raci, member));
  const width = Math.max(...COMMAND_HELP.map(([c]) => c.length));
  const lines = COMMAND_HELP.map(([c, what]) => {
    const name = (/^\/([a-z-]+)/.exec(c)?.[1] ?? '') as CommandName;
    return `${mine.has(name) ? ' ' : '-'} ${c.padEnd(width)}  ${what}`;
  });
  return [
    'Put the case tag and commands in the subject of a signed reply, e.g.',
    '  Re: [SEC-2026-0042] … /assign bob /cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
    'Commands apply left to right. Without /reply the body stays an internal note.',
    `Your roles: ${member.roles.join(', ')}. Lines marked "-" need a role you do not have.`,
    '',
    ...lines,
  ].join('\n');
}
