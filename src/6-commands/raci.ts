import type { CommandName } from './grammar.js';
import type { RaciActivity, StaffMember } from '../config/schema.js';

/** Commands every staff member may run: they change nothing on the case. */
export const OPEN_COMMANDS: ReadonlySet<CommandName> = new Set(['help', 'note']);

export type Permission = { ok: true; activity: string | null } | { ok: false; reason: string };

/** The activity of the RACI matrix that governs a command (config `[[raci]]`). */
export function activityOf(raci: readonly RaciActivity[], command: CommandName): RaciActivity | null {
  return raci.find((a) => (a.commands as readonly string[]).includes(command)) ?? null;
}

/**
 * Roles that may run a command: its activity's Responsible roles and its Accountable role, or
 * only the Accountable role where the activity is `decided_by = "accountable"`.
 */
export function rolesFor(activity: RaciActivity): string[] {
  if (activity.decided_by === 'accountable') return [activity.accountable];
  return [...new Set([...activity.responsible, activity.accountable])];
}

/**
 * Whether `member` may run `command` under the RACI matrix (ISO/IEC 18974 §4.2.2.4). Pure; the
 * matrix is data from config, so the organisation decides who does what.
 */
export function mayRun(
  raci: readonly RaciActivity[],
  member: Pick<StaffMember, 'roles'>,
  command: CommandName,
): Permission {
  if (OPEN_COMMANDS.has(command)) return { ok: true, activity: null };
  const activity = activityOf(raci, command);
  if (activity === null) return { ok: false, reason: `/${command} is not in the RACI matrix` };
  const allowed = rolesFor(activity);
  if (member.roles.some((r) => allowed.includes(r))) return { ok: true, activity: activity.activity };
  return {
    ok: false,
    reason: `/${command} (${activity.activity}) needs the role ${allowed.join(' or ')}; you have ${member.roles.join(', ')}`,
  };
}

/** The commands a member may run, for `/help`. */
export function commandsFor(
  raci: readonly RaciActivity[],
  member: Pick<StaffMember, 'roles'>,
): CommandName[] {
  const all = [...OPEN_COMMANDS, ...raci.flatMap((a) => a.commands)] as CommandName[];
  return all.filter((c) => mayRun(raci, member, c).ok);
}
