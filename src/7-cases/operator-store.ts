import type { Calendar } from '../calendar/calendar.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import type { StaffCommand } from '../6-commands/grammar.js';
import type { CaseState, CommandOutcome } from '../6-commands/plan.js';
import type { StaffMember } from '../config/schema.js';
import { writeCaseChange } from './change-store.js';
import type { Db } from './db.js';
import { loadCaseRow, readDeadlineFacts } from './deadline-store.js';
import { decideOperatorCommand } from './rules/operator-command.js';

export type OperatorResult =
  { ok: true; outcome: CommandOutcome; final: CaseState } | { ok: false; reason: 'no-case' };

/**
 * Applies a CLI command to a stored case (issue #13, `psirt hold|unhold`) in one IMMEDIATE
 * transaction: reads the case, lets rules/operator-command.ts plan it as a signed mail's would
 * be, and writes it with the mail path's own writer (change-store.ts writeCaseChange).
 */
export function applyOperatorCommand(
  deps: { db: Db; clock: Clock; config: Config; calendar: Calendar },
  input: { caseId: string; member: StaffMember; command: StaffCommand },
): OperatorResult {
  const { db, config, calendar } = deps;
  return db
    .transaction((): OperatorResult => {
      const row = loadCaseRow(db, input.caseId);
      if (row === null) return { ok: false, reason: 'no-case' };
      const decision = decideOperatorCommand(
        { ...input, now: deps.clock.now() },
        { row, ...readDeadlineFacts(db, input.caseId) },
        { config, calendar },
      );
      writeCaseChange(db, config, decision.change);
      return { ok: true, outcome: decision.outcome, final: decision.final };
    })
    .immediate();
}
