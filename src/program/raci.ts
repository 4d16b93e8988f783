import { STAFF_ROLES, type Config, type RaciActivity } from '../config/schema.js';
import { COMMAND_SYNTAX, OPEN_COMMAND_WORDS, rolesAllowed, type CommandWord } from './facts.js';
import { bullets, cellCode, md, orList, table } from './markdown.js';
import type { ProgramInput } from './types.js';

/**
 * 4.2.2.4, the procedure that assigns internal responsibilities: the RACI matrix of `[[raci]]` —
 * the very matrix that decides which staff member may run which command (src/6-commands/raci.ts
 * `mayRun`), so the published assignment of responsibilities is the one enforced.
 */

/** "A/R", "R", "C", "I" or "–" for one role in one activity. */
function cell(a: RaciActivity, role: string): string {
  const letters = [
    a.accountable === role ? 'A' : '',
    (a.responsible as readonly string[]).includes(role) ? 'R' : '',
    (a.consulted as readonly string[]).includes(role) ? 'C' : '',
    (a.informed as readonly string[]).includes(role) ? 'I' : '',
  ].filter((l) => l !== '');
  return letters.length > 0 ? letters.join('/') : '–';
}

/** The sections of raci.md (4.2.2.4). */
export function raciSections(input: ProgramInput): string[] {
  const { config } = input;
  return [
    'R: responsible (does the work) · A: accountable (answers for it; exactly one role) · C: consulted ' +
      'before · I: informed after.',
    table(
      ['Activity', ...STAFF_ROLES],
      config.raci.map((a) => [md(a.activity), ...STAFF_ROLES.map((r) => cell(a, r))]),
    ),
    '## Commands of each activity',
    table(
      ['Activity', 'Commands', 'Who may run them'],
      config.raci.map((a) => [
        md(a.activity),
        a.commands.map((c) => cellCode(COMMAND_SYNTAX[c as CommandWord])).join(', '),
        a.decided_by === 'accountable'
          ? `${orList(rolesAllowed(a))} only (decided by the accountable role)`
          : orList(rolesAllowed(a)),
      ]),
    ),
    '## Enforcement',
    bullets(
      [
        'The same matrix gates the staff commands: the service runs a command only for an authenticated ' +
          'staff member holding a role that may run it (a Responsible role or the Accountable one, or only ' +
          'the Accountable role where the activity is decided by it), and rejects it with the reason otherwise.',
        `Open to every staff member: ${OPEN_COMMAND_WORDS.map((c) => `\`${COMMAND_SYNTAX[c]}\``).join(', ')}.`,
        'Every command belongs to exactly one activity: the configuration is refused otherwise.',
        `The role holders are listed in roles.md. ${holdersLine(config)}`,
      ],
      '',
    ),
  ];
}

function holdersLine(config: Config): string {
  const empty = STAFF_ROLES.filter(
    (r) =>
      config.raci.some((a) => rolesAllowed(a).includes(r)) &&
      !config.staff.some((s) => (s.roles as readonly string[]).includes(r)),
  );
  return empty.length === 0
    ? 'Every role that may run commands has at least one holder.'
    : `Roles that may run commands but have no holder: ${empty.join(', ')}.`;
}
