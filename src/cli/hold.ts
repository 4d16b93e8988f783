import { createCalendar } from '../calendar/calendar.js';
import { holdCommand, MAX_HOLD_REASON, type StaffCommand } from '../6-commands/grammar.js';
import { mayRun } from '../6-commands/raci.js';
import { applyOperatorCommand } from '../7-cases/operator-store.js';
import type { Config, StaffMember } from '../config/schema.js';
import { systemClock, type Clock } from '../core/clock.js';
import { staffByAddress } from '../core/staff.js';
import { EXIT_CONFIG, EXIT_FAILED, exitWith, withCaseDatabase } from './context.js';

/**
 * `psirt hold ID --reason "…" --as ADDRESS` and `psirt unhold ID --as ADDRESS` (issue #13): the
 * legal hold from the command line, for the role the RACI matrix lets run /hold and /unhold.
 * It writes the very change and events the signed mail command writes (src/7-cases
 * operator-store.ts), with the actor `staff:<address>` and the authentication `cli`.
 *
 * NB! The CLI trusts the local operator: whoever can run it with this configuration and write
 * the database can name any staff member with --as. No signature is checked; the event records
 * that the change came from the command line, not from an authenticated mail.
 */

export interface HoldOptions {
  as: string;
  reason?: string;
}

/** The staff member `--as` names, allowed by the RACI matrix to run `command`, or exit 2 naming why. */
function operator(cfg: Config, as: string, command: StaffCommand['name']): StaffMember {
  const member = staffByAddress(cfg.staff, as.trim().toLowerCase());
  if (member === undefined)
    return exitWith(
      EXIT_CONFIG,
      `--as ${as}: not a configured staff member (staff: ${cfg.staff.map((m) => m.address).join(', ')})`,
    );
  const permission = mayRun(cfg.raci, member, command);
  if (!permission.ok) return exitWith(EXIT_CONFIG, `--as ${member.address}: ${permission.reason}`);
  return member;
}

function run(cfg: Config, id: string, member: StaffMember, command: StaffCommand, clock: Clock): void {
  withCaseDatabase(
    cfg,
    (db) => {
      const result = applyOperatorCommand(
        { db, clock, config: cfg, calendar: createCalendar(cfg.calendar) },
        { caseId: id, member, command },
      );
      if (!result.ok) exitWith(EXIT_FAILED, `no case ${id}`);
      const { outcome } = result;
      if (!outcome.applied) exitWith(EXIT_FAILED, `${id}: ${outcome.text} not applied: ${outcome.detail}`);
      process.stdout.write(`${id}: ${outcome.detail}\n`);
    },
    { write: true },
  );
}

/** `psirt hold ID --reason "…" --as ADDRESS`. */
export function hold(cfg: Config, id: string, opts: HoldOptions, clock: Clock = systemClock): void {
  if (opts.reason === undefined || opts.reason.trim() === '')
    exitWith(
      EXIT_CONFIG,
      `a legal hold needs a reason: psirt hold ${id} --reason "<why>" --as <staff address>`,
    );
  const command = holdCommand(opts.reason);
  if (typeof command === 'string')
    exitWith(EXIT_CONFIG, `--reason: one line of at most ${MAX_HOLD_REASON} characters, please`);
  run(cfg, id, operator(cfg, opts.as, 'hold'), command, clock);
}

/** `psirt unhold ID --as ADDRESS`. */
export function unhold(cfg: Config, id: string, opts: HoldOptions, clock: Clock = systemClock): void {
  run(cfg, id, operator(cfg, opts.as, 'unhold'), { name: 'unhold' }, clock);
}
