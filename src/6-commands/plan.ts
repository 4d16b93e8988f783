import type { CommandName, ParsedCommands, StaffCommand } from './grammar.js';
import { COMMAND_HELP } from './grammar.js';
import type { RaciActivity, StaffMember } from '../config/schema.js';
import { assertNever } from '../core/errors.js';
import { applyCommand, move, Refused, type Work } from './apply-command.js';
import type { CaseState, CommandOutcome, CommandPlan, PlanContext } from './case-state.js';
import { commandsFor, mayRun } from './raci.js';

export type { CaseState, CommandOutcome, CommandPlan, PlanContext, PlannedEvent } from './case-state.js';

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
    case 'hold':
      return `/hold "${c.reason}"`;
    case 'title':
      // Never the title itself: this text is stored in clear (outcomes in the confirmation's
      // outbox payload, `command.rejected` events) and the title names the flaw (#14).
      return `/title (${c.title.length} characters)`;
    // Nor what the flaw affects, its weakness or where its fix lives: all sealed until published.
    case 'cwe':
      return '/cwe (a weakness)';
    case 'affects':
      return c.range === null ? '/affects (a product removed)' : '/affects (a product and its versions)';
    case 'fixed-in':
      return c.version === null ? '/fixed-in (a fixed version removed)' : '/fixed-in (a fixed version)';
    case 'ref':
      return '/ref (a reference)';
    case 'no-draft':
      return `/no-draft "${c.reason}"`;
    case 'credit-override':
      return `/credit-override "${c.credit}" "${c.reason}"`;
    case 'revise':
      return `/revise "${c.summary}"`;
    case 'summary':
    case 'draft':
    case 'notify':
    case 'help':
    case 'triage':
    case 'verified':
    case 'fixed':
    case 'reply':
    case 'ack':
    case 'note':
    case 'reopen':
    case 'unhold':
    case 'pause':
      return `/${c.name}`;
    default:
      return assertNever(c);
  }
}

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
  // The advisory outlives the case: corrected, revised and sent to customers after closing.
  'title',
  'summary',
  'cwe',
  'affects',
  'fixed-in',
  'ref',
  'draft',
  'no-draft',
  'credit-override',
  'revise',
  'notify',
]);

/**
 * Plans what an authenticated staff mail does to a case: each command, left to right, checked
 * against the RACI matrix and the lifecycle, applied to a working copy of the case or rejected
 * with the reason. Pure: the store writes the plan in one transaction.
 */
export function planCommands(state: CaseState, parsed: ParsedCommands, ctx: PlanContext): CommandPlan {
  const w: Work = {
    s: {
      ...state,
      tags: [...state.tags],
      external: [...state.external],
      advisory: {
        ...state.advisory,
        affected: [...state.advisory.affected],
        fixed: [...state.advisory.fixed],
        references: [...state.advisory.references],
      },
    },
    ctx,
    events: [],
    links: [],
    status: [],
    reply: false,
    ack: false,
    help: false,
    assigned: null,
    draft: false,
    revision: null,
    notify: false,
  };
  const outcomes: CommandOutcome[] = parsed.rejected.map((r) => ({
    text: r.text,
    applied: false,
    detail: r.reason,
  }));
  let acted = false;
  for (const c of parsed.commands) {
    const text = commandText(c);
    const permission = mayRun(ctx.raci, ctx.actor, c.name);
    if (!permission.ok) {
      outcomes.push({ text, applied: false, detail: permission.reason });
      continue;
    }
    if (w.s.stage === 'closed' && !ON_CLOSED.has(c.name)) {
      outcomes.push({ text, applied: false, detail: 'the case is closed (/reopen it first)' });
      continue;
    }
    const result = applyCommand(w, c, text);
    if (result instanceof Refused) {
      outcomes.push({ text, applied: false, detail: result.reason });
      continue;
    }
    outcomes.push({ text, applied: true, detail: result });
    if (c.name !== 'help' && c.name !== 'note') acted = true;
  }
  // The first authenticated action on a new report means someone is on it.
  if (acted && w.s.stage === 'received') move(w, { kind: 'start-triage' }, '(first staff action)');

  return {
    outcomes,
    final: w.s,
    events: w.events,
    links: w.links,
    statusMails: w.status.filter((e) => ctx.statusEvents.includes(e)),
    reply: w.reply,
    ack: w.ack,
    help: w.help,
    assigned: w.assigned === ctx.actor.address ? null : w.assigned,
    draft: w.draft,
    revision: w.revision,
    notify: w.notify,
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
