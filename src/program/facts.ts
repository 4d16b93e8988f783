import type { Config, GOVERNED_COMMANDS, RaciActivity } from '../config/schema.js';
import { RESOLUTIONS } from '../core/vocabulary.js';
import { md, person } from './markdown.js';

/**
 * Facts the program documents state, read from the configuration the service enforces. What the
 * pure command domain (src/6-commands) defines and this folder may not import — the command
 * syntax, who may run a command — is restated here once; test/unit/program pins both to
 * src/6-commands so the documents cannot drift from the grammar or the RACI gate.
 */

export type GovernedCommand = (typeof GOVERNED_COMMANDS)[number];
/** Every staff command: the governed ones and the two open to all staff. */
export type CommandWord = GovernedCommand | 'help' | 'note';

/** How each command is written (the first column of /help, src/6-commands/grammar.ts COMMAND_HELP). */
export const COMMAND_SYNTAX: Record<CommandWord, string> = {
  help: '/help',
  triage: '/triage',
  assign: '/assign <staff>',
  severity: '/severity <critical|high|medium|low|none>',
  cvss: '/cvss <vector>',
  verified: '/verified',
  'fix-by': '/fix-by <YYYY-MM-DD>',
  fixed: '/fixed',
  disclose: '/disclose <YYYY-MM-DD>',
  cve: '/cve <CVE-YYYY-NNNN>',
  reply: '/reply',
  ack: '/ack',
  note: '/note',
  tag: '/tag <word>',
  external: '/external <org>',
  duplicate: '/duplicate <case>',
  link: '/link <case>',
  close: `/close <${RESOLUTIONS.join('|')}>`,
  reopen: '/reopen',
  hold: '/hold "<reason>"',
  unhold: '/unhold',
  pause: '/pause',
  publish: '/publish <https-url>',
  credit: '/credit <"name"|none>',
  title: '/title "<title>"',
  summary: '/summary',
  cwe: '/cwe <CWE-N>',
  affects: '/affects <product> <range|none>',
  'fixed-in': '/fixed-in <product> <version|none>',
  ref: '/ref <https-url>',
  draft: '/draft',
  'no-draft': '/no-draft "<reason>"',
  'credit-override': '/credit-override <"name"|none> "<reason>"',
  revise: '/revise "<what changed>"',
  notify: '/notify',
};

/** Commands every staff member may run (src/6-commands/raci.ts OPEN_COMMANDS). */
export const OPEN_COMMAND_WORDS: readonly CommandWord[] = ['help', 'note'];

/** The RACI activity that governs a command, or null (open commands). */
export function activityFor(raci: readonly RaciActivity[], command: CommandWord): RaciActivity | null {
  return raci.find((a) => (a.commands as readonly string[]).includes(command)) ?? null;
}

/**
 * Roles that may run an activity's commands, as src/6-commands/raci.ts `rolesFor` gates them:
 * the Responsible roles and the Accountable one, or only the Accountable role when the activity
 * is decided_by = "accountable".
 */
export function rolesAllowed(activity: RaciActivity): string[] {
  if (activity.decided_by === 'accountable') return [activity.accountable];
  return [...new Set([...activity.responsible, activity.accountable])];
}

/** One wording of a span wherever a promise is stated (src/policy/wording.ts). */
export { formatSpan } from '../policy/wording.js';

/** A moment as the calendar's clock shows it: "Thu 10 Dec 2026 12:00 (Europe/Berlin)". */
export function formatLocal(at: Date, zone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: zone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const get = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('weekday')} ${get('day')} ${get('month')} ${get('year')} ${get('hour')}:${get('minute')} (${zone})`;
}

/** Staff holding a role, in config order. */
export function holdersOf(config: Pick<Config, 'staff'>, role: string): Config['staff'] {
  return config.staff.filter((s) => (s.roles as readonly string[]).includes(role));
}

/** The staff member with this (configured, lower-cased) address, if any. */
export function staffByAddress(
  config: Pick<Config, 'staff'>,
  address: string,
): Config['staff'][number] | undefined {
  return config.staff.find((s) => s.address === address);
}

/** "Name (address)" for a configured address, or the address alone when nobody on staff has it. */
export function named(config: Pick<Config, 'staff'>, address: string): string {
  const s = staffByAddress(config, address);
  return s === undefined ? md(address) : person(s.name, address);
}
