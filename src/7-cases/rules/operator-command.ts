import type { Calendar } from '../../calendar/calendar.js';
import type { StaffCommand } from '../../6-commands/grammar.js';
import { planCommands, type CaseState, type CommandOutcome } from '../../6-commands/plan.js';
import type { Config, StaffMember } from '../../config/schema.js';
import { toState, type CaseRow } from './case-row.js';
import type { CaseOnlyChange } from './change.js';
import type { DeadlineRow, PauseEvent } from './deadlines.js';
import { deadlinesAfter, localDate } from './staff-commands.js';

/**
 * A command the local operator runs through the CLI in a staff member's name (issue #13:
 * `psirt hold`, `psirt unhold`). Planned exactly as the same command in a signed mail — the
 * RACI matrix, the lifecycle, the same events and deadline effect — and recorded with the
 * actor `staff:<address>` and the authentication `cli`: the CLI trusts whoever may run it on
 * this host with this database. No mail: the CLI prints the outcome. Pure.
 */

/** How a CLI command's events are authenticated (events.auth): the local operator. */
export const CLI_AUTH = 'cli';

export interface OperatorCommand {
  caseId: string;
  member: StaffMember;
  command: StaffCommand;
  now: Date;
}

/** What the store reads of the case first. */
export interface OperatorFacts {
  row: CaseRow;
  deadlines: DeadlineRow[];
  pauses: PauseEvent[];
}

export interface OperatorDecision {
  change: CaseOnlyChange;
  outcome: CommandOutcome;
  /** The case after the command. */
  final: CaseState;
}

export function decideOperatorCommand(
  op: OperatorCommand,
  f: OperatorFacts,
  ctx: { config: Config; calendar: Calendar },
): OperatorDecision {
  const at = op.now.toISOString();
  const plan = planCommands(
    toState(f.row),
    { commands: [op.command], rejected: [] },
    {
      now: at,
      today: localDate(ctx.config.calendar.time_zone, op.now),
      actor: op.member,
      staff: ctx.config.staff,
      raci: ctx.config.raci,
      statusEvents: ctx.config.status_mails.events,
      // Only /hold and /unhold come this way: they name no other case and carry no text.
      caseExists: () => false,
      ownText: '',
      products: [],
      acknowledgment: 'none',
    },
  );
  const who = { caseId: op.caseId, actor: `staff:${op.member.address}`, auth: CLI_AUTH, messageId: null };
  const outcome = plan.outcomes[0] ?? { text: '', applied: false, detail: 'nothing to do' };
  const events = [
    ...plan.events.map((e) => ({ ...who, type: e.type, data: e.data })),
    ...plan.outcomes
      .filter((o) => !o.applied)
      .map((o) => ({ ...who, type: 'command.rejected', data: { command: o.text, reason: o.detail } })),
  ];
  const changed = plan.events.length > 0;
  return {
    change: {
      at,
      caseWrites: changed ? { id: op.caseId, state: plan.final } : null,
      links: [],
      events,
      acknowledge: null,
      deadlines: changed ? deadlinesAfter(plan, f, at, ctx) : null,
      outbox: [],
    },
    outcome,
    final: plan.final,
  };
}
