import { createCalendar, type Calendar } from '../calendar/calendar.js';
import { MIN_RETENTION_YEARS, type Config } from '../config/schema.js';
import { SEVERITIES } from '../core/vocabulary.js';
import { outsideExpertiseNeed } from '../policy/escalation.js';
import { formatWorkingWeek } from '../policy/wording.js';
import { commandAuthMethods, commandCapableStaff } from '../config/command-auth.js';
import {
  activityFor,
  COMMAND_SYNTAX,
  formatLocal,
  formatSpan,
  OPEN_COMMAND_WORDS,
  rolesAllowed,
  named,
  type CommandWord,
} from './facts.js';
import { bullets, md, orList, table } from './markdown.js';
import type { ProgramInput } from './types.js';

/**
 * 4.2.1.2, the internal procedure for responding to vulnerability reports: the guide's five
 * stages (receipt, triage, assignment, response, closure) mapped to the case lifecycle, each
 * timeline read from `deadlines` and counted in the configured calendar, the escalation ladder,
 * outside expertise, customer notification and record retention. Every number comes from the
 * configuration the service enforces, so the written procedure cannot drift from what it does.
 */

type Deadlines = Config['deadlines'];
type FixSeverity = Exclude<(typeof SEVERITIES)[number], 'none'>;
const FIX_SEVERITIES = SEVERITIES.filter((s): s is FixSeverity => s !== 'none');

/** The guide's stages, the lifecycle stages each covers, and its commands (src/6-commands/lifecycle.ts). */
const STAGES: readonly { title: string; lifecycle: string; commands: readonly CommandWord[] }[] = [
  { title: '1. Receipt and acknowledgment', lifecycle: '`received`', commands: ['ack', 'reply', 'note'] },
  {
    title: '2. Triage',
    lifecycle: '`received` → `triage` → `verifying`',
    commands: ['triage', 'tag', 'link', 'duplicate', 'pause'],
  },
  { title: '3. Assignment', lifecycle: 'any open stage', commands: ['assign'] },
  {
    title: '4. Response: verification, fix and disclosure',
    lifecycle: '`verifying` → `fixing` → `disclosure`',
    commands: [
      'severity',
      'cvss',
      'verified',
      'fix-by',
      'fixed',
      'external',
      'disclose',
      'cve',
      'credit',
      'title',
      'summary',
      'cwe',
      'affects',
      'fixed-in',
      'ref',
      'draft',
      'no-draft',
      'credit-override',
      'publish',
      'revise',
      'notify',
    ],
  },
  {
    title: '5. Closure',
    lifecycle: '`closed` (and back to `triage` by `/reopen`)',
    commands: ['close', 'duplicate', 'reopen', 'hold', 'unhold'],
  },
];

/** The sections of procedure.md (4.2.1.2). */
export function procedureSections(input: ProgramInput): string[] {
  const { config } = input;
  const calendar = createCalendar(config.calendar);
  return [
    `${md(config.organisation.name)} receives vulnerability reports at ${md(config.organisation.security_address)}. ` +
      'This procedure is rendered by psirt-inbox from the configuration it enforces: every deadline, ' +
      'escalation and permission below is the one the service applies.',
    principles(config),
    calendarSection(config, calendar),
    stageOverview(config),
    receipt(config),
    triage(config),
    assignment(config),
    response(config),
    customerNotification(config),
    closure(config),
    escalationSection(config),
    outsideExpertise(config, input),
    retention(config),
    timelineExample(input, calendar),
  ];
}

function principles(config: Config): string {
  return [
    '## Coordinated vulnerability disclosure',
    bullets(
      [
        'Reports are handled confidentially. Mail to the reporter is encrypted when their OpenPGP key is known, ' +
          "and staff notifications to each member's key; a report sent encrypted is stored as it arrived, " +
          'encrypted to the team key; escalation mails name the case, stage and deadline, never the report.',
        'We work with the reporter privately until the vulnerability is fixed, and disclose it on a date ' +
          `agreed with them (\`/disclose <YYYY-MM-DD>\`). When no date is agreed, disclosure is due ` +
          `${formatSpan(config.deadlines.disclose)} after the fix (\`/fixed\`).`,
        'Every change to a case is an event in a hash-chained log: who, what, when, triggered by which message.',
      ],
      '',
    ),
  ].join('\n\n');
}

function calendarSection(config: Config, calendar: Calendar): string {
  const c = config.calendar;
  const days = formatWorkingWeek(c.working_days);
  const holidays = c.holiday_country
    ? `public holidays of ${md(c.holiday_country)}${c.holiday_region ? `, region ${md(c.holiday_region)}` : ''}`
    : 'no public holidays (none configured)';
  const partial = c.partial_day_holidays_closed
    ? 'Partial-day holidays (such as 24 and 31 December from 14:00 in Germany) close the whole day.'
    : 'A partial-day holiday (such as 24 and 31 December from 14:00 in Germany) counts until it starts.';
  const closed =
    c.closed_days.length > 0
      ? `Additional closed days: ${c.closed_days.map(md).join(', ')}.`
      : 'No additional closed days are configured.';
  return [
    '## Calendar',
    `Business days are counted in the time zone ${md(c.time_zone)}, on the working days ${days}, minus ${holidays}. ` +
      `${partial} ${closed} A report that arrives on a closed day starts its business-day clock at the ` +
      `beginning of the next business day. Calendar id \`${calendar.id}\` (recorded with every deadline it produced).`,
  ].join('\n\n');
}

function stageOverview(config: Config): string {
  const d = config.deadlines;
  const deadline: Record<string, string> = {
    '1. Receipt and acknowledgment': `acknowledge within ${formatSpan(d.acknowledge)}`,
    '2. Triage': `triage within ${formatSpan(d.triage)}`,
    '3. Assignment': 'no deadline of its own',
    '4. Response: verification, fix and disclosure': `verify within ${formatSpan(d.verify)}; fix by severity; disclose on the agreed date`,
    '5. Closure': 'open deadlines are cancelled',
  };
  return [
    '## Stages and the case lifecycle',
    'Each case moves through `received → triage → verifying → fixing → disclosure → closed`.',
    table(
      ['Stage', 'Case lifecycle', 'Deadline', 'Staff commands'],
      STAGES.map((s) => [
        s.title,
        s.lifecycle,
        deadline[s.title] ?? '',
        s.commands.map((c) => `\`/${c}\``).join(', '),
      ]),
    ),
    authentication(config),
    'Staff drive a case by replying to a case mail with the commands in the subject line. ' +
      'A command is accepted only from a role the RACI matrix ' +
      '(raci.md) allows; every command mail gets a confirmation of what was applied or rejected. ' +
      `Open to all staff: ${OPEN_COMMAND_WORDS.map((c) => `\`${COMMAND_SYNTAX[c]}\``).join(', ')}.`,
  ].join('\n\n');
}

/** How a command mail is authenticated, and who can with this configuration (`[commands]`, `[[staff]]`). */
function authentication(config: Config): string {
  const methods = commandAuthMethods(config);
  const { can, cannot } = commandCapableStaff(config);
  const names = (list: typeof can): string => list.map((m) => md(m.name)).join(', ');
  return [
    methods.length === 0
      ? '**No way to authenticate a command mail is enabled** (`[commands]`): staff cannot drive cases by mail.'
      : `A command mail counts only when it is authenticated by ${orList(methods)}; From: alone is never proof. ` +
        `A signature older than ${config.commands.max_signature_age_hours} hours, or used before, changes nothing.`,
    can.length === 0
      ? '**With this configuration no staff member can send commands.**'
      : `With this configuration these staff can send commands: ${names(can)}.` +
        (cannot.length > 0 ? ` Not (no fingerprint and key_file): ${names(cannot)}.` : ''),
  ].join(' ');
}

/** The commands of a stage, each with the activity that governs it and the roles that may run it. */
function commandList(config: Config, commands: readonly CommandWord[]): string {
  return bullets(
    commands.map((c) => {
      const activity = activityFor(config.raci, c);
      const who =
        activity === null
          ? 'any staff member'
          : `${orList(rolesAllowed(activity))}, under “${md(activity.activity)}”`;
      return `\`${COMMAND_SYNTAX[c]}\`: ${who}`;
    }),
    '',
  );
}

function escalates(config: Config, kind: Config['escalation']['deadlines'][number]): string {
  return config.escalation.deadlines.includes(kind)
    ? 'It escalates (see Escalation).'
    : 'It does not escalate (not listed in escalation.deadlines).';
}

function receipt(config: Config): string {
  return [
    '## 1. Receipt and acknowledgment',
    `Every report to ${md(config.organisation.security_address)} becomes a case, and a reply on its thread a ` +
      'follow-up of it; automatic replies, bounces and copies already received are recorded and open none. ' +
      'Staff are notified of each, encrypted to their key (without a key they learn only that a case ' +
      'arrived). The reporter is acknowledged on the same thread with the case id; the ' +
      `acknowledgment is due within **${formatSpan(config.deadlines.acknowledge)}** of receipt, and the ` +
      `automatic acknowledgment normally meets it within a minute. ${escalates(config, 'acknowledge')} ` +
      'A flood guard holds back repeated acknowledgments to one sender; staff send a held one with `/ack`.',
    commandList(config, STAGES[0]?.commands ?? []),
  ].join('\n\n');
}

function triage(config: Config): string {
  return [
    '## 2. Triage',
    'The first authenticated command of a staff member moves the case to `triage`; `/triage` marks the ' +
      `report plausible and moves it to \`verifying\`. Triage is due within **${formatSpan(config.deadlines.triage)}** ` +
      `of receipt (or of reopening); \`/triage\` or \`/verified\` meets it. ${escalates(config, 'triage')} ` +
      '`/pause` stops the clocks while the team waits on the reporter, until they reply.',
    commandList(config, STAGES[1]?.commands ?? []),
  ].join('\n\n');
}

function assignment(config: Config): string {
  return [
    '## 3. Assignment',
    'A case is assigned to one staff member with `/assign`. Escalation steps addressed to the assignee ' +
      'go to every staff member with the security role while nobody is assigned.',
    commandList(config, STAGES[2]?.commands ?? []),
  ].join('\n\n');
}

function fixTable(d: Deadlines): string {
  return table(
    ['Severity', 'Fix due'],
    FIX_SEVERITIES.map((s) => [s, formatSpan({ amount: d.fix[s], unit: d.fix.unit })]),
  );
}

function response(config: Config): string {
  const d = config.deadlines;
  return [
    '## 4. Response: verification, fix and disclosure',
    `**Verification.** The report is reproduced, scored with CVSS and given a severity within ` +
      `**${formatSpan(d.verify)}** of receipt (or of reopening); \`/verified\` meets it and moves the case to ` +
      `\`fixing\`. ${escalates(config, 'verify')}`,
    `**Fix.** The fix is due, counted from receipt (or reopening), by severity as below; a date agreed with ` +
      '`/fix-by` replaces it. Without a severity (or with severity none) and without a `/fix-by` date there ' +
      `is no fix deadline. \`/fixed\` meets it and moves the case to \`disclosure\`. ${escalates(config, 'fix')}`,
    fixTable(d),
    `**Disclosure.** The disclosure is due on the date agreed with the reporter (\`/disclose\`); when no ` +
      `date was agreed, **${formatSpan(d.disclose)} after the fix** (\`/fixed\`). Recording the published ` +
      `advisory with \`/publish <https-url>\` meets it and tells the reporter. ${escalates(config, 'disclose')}`,
    commandList(config, STAGES[3]?.commands ?? []),
    statusMails(config),
  ].join('\n\n');
}

function statusMails(config: Config): string {
  const events = config.status_mails.events;
  return events.length === 0
    ? 'The reporter gets no automatic status mails; `/reply` sends them the body of a staff mail.'
    : `The reporter gets a status mail on their thread for: ${events.join(', ')}. \`/reply\` sends them the body of a staff mail.`;
}

function customerNotification(config: Config): string {
  const activity = activityFor(config.raci, 'notify');
  const customers = config.customers;
  const keyed = customers.filter((c) => c.key_file !== undefined).length;
  const who =
    activity === null
      ? 'No RACI activity governs `/notify`.'
      : `Telling customers is a decision under the RACI activity "${md(activity.activity)}" ` +
        `(accountable: ${activity.accountable}; responsible: ${activity.responsible.join(', ')}): only ` +
        `${orList(rolesAllowed(activity))} may run \`/notify\`.`;
  const count =
    customers.length === 0
      ? 'No customers are configured (`[[customers]]`), so `/notify` tells nobody.'
      : `${customers.length === 1 ? 'One customer is' : `${customers.length} customers are`} configured ` +
        `(\`[[customers]]\`, with the products each runs; ${keyed} with an OpenPGP key).`;
  return [
    '### Advisory and customer notification',
    'Before publication the advisory draft is confirmed with the reporter: `/draft` mails it to them on ' +
      'their thread, encrypted when their key is known, and asks for corrections and how they want to be ' +
      'credited; `/publish` is refused until a draft was sent, or `/no-draft "<reason>"` recorded why none could be. ' +
      `An agreed disclosure date (\`/disclose\`) reminds the reporter and the assignee ` +
      `${formatSpan(config.disclosure.remind_before)} before it, each once; the date passing unpublished ` +
      'climbs the escalation ladder.',
    `${who} ${count} \`/notify\` mails the published advisory to every customer running an affected product: ` +
      'one mail each, with only that customer as recipient, encrypted to their key where one is configured ' +
      '(signed otherwise), and records who was told of which revision and when (evidence pack). Repeating it ' +
      'sends nothing new; after `/revise` it sends the new revision to them as an update.',
  ].join('\n\n');
}

function closure(config: Config): string {
  return [
    '## 5. Closure',
    'A case is closed with a resolution (`/close`, or `/duplicate` of another case); its open deadlines are ' +
      'cancelled. `/reopen` returns a closed case to `triage`, and its triage and verify clocks start again. ' +
      '`/hold "<reason>"` puts a case on legal hold: its deadlines stand still, its escalations stop and the ' +
      'retention purge leaves its records alone until `/unhold`; the reason, the time and the staff member are recorded.',
    commandList(config, STAGES[4]?.commands ?? []),
  ].join('\n\n');
}

function recipient(config: Config, to: Config['escalation']['ladder'][number]['to']): string {
  const e = config.escalation;
  switch (to) {
    case 'assignee':
      return 'the assignee (every security staff member while nobody is assigned)';
    case 'oncall':
      return `on-call, ${named(config, e.oncall_address)}`;
    case 'accountable':
      return `the accountable role, ${named(config, e.accountable_address)}`;
  }
}

function escalationSection(config: Config): string {
  const e = config.escalation;
  const steps = e.ladder.map((s, i) => {
    const when =
      s.before !== undefined
        ? `${formatSpan(s.before)} before the deadline`
        : s.after !== undefined && s.after.amount > 0
          ? `${formatSpan(s.after)} after the deadline`
          : 'when the deadline is missed';
    return `${i + 1}. ${when}: ${recipient(config, s.to)}`;
  });
  const quiet = (['acknowledge', 'triage', 'verify', 'fix', 'disclose'] as const).filter(
    (k) => !e.deadlines.includes(k),
  );
  return [
    '## Escalation',
    `These deadlines escalate: ${e.deadlines.length > 0 ? e.deadlines.join(', ') : 'none'}.` +
      (quiet.length > 0 ? ` These are tracked but do not escalate: ${quiet.join(', ')}.` : ''),
    'Each escalating deadline climbs this ladder; each step is sent once, counted in the calendar above, ' +
      'and stops when the deadline is met, the case closes or is put on hold, or the team waits on the reporter:',
    steps.join('\n'),
    `Due steps are looked for every ${formatSpan({ amount: e.sweep_interval_seconds, unit: 'seconds' })}.`,
  ].join('\n\n');
}

function outsideExpertise(config: Config, input: ProgramInput): string {
  const o = config.escalation.outside_expertise;
  const tags = o.tags.length > 0 ? o.tags.map(md).join(', ') : 'none configured';
  return [
    '## Outside expertise',
    `A case needs outside expertise when it is tagged (\`/tag\`) with one of: ${tags}; or when its fix date ` +
      `lies more than ${o.max_fix_days} days after the report. The service then sends one escalation to the ` +
      `accountable role, ${named(config, config.escalation.accountable_address)}, naming the external experts ` +
      '(expertise.md); the call is recorded with `/external <org>`.' +
      beyondMaxFixDays(config, input),
  ].join('\n\n');
}

/**
 * The severities whose policy fix deadline alone already lies past max_fix_days (counted from a
 * report at the time of rendering): said outright, since every such case calls for outside help.
 */
function beyondMaxFixDays(config: Config, input: ProgramInput): string {
  const calendar = createCalendar(config.calendar);
  const start = input.generatedAt;
  const fix = config.deadlines.fix;
  // The service's own rule (src/policy/escalation.ts), asked of each severity's policy fix date.
  const over = (['critical', 'high', 'medium', 'low'] as const).filter(
    (s) =>
      outsideExpertiseNeed(
        { tags: [], createdAt: start, fixDue: calendar.add(start, { amount: fix[s], unit: fix.unit }) },
        config.escalation.outside_expertise,
      ) !== null,
  );
  if (over.length === 0) return '';
  return (
    ` With the fix policy above this holds for every case of severity ${orList([...over])} without an ` +
    'earlier `/fix-by` date: each of them raises that escalation.'
  );
}

function retention(config: Config): string {
  return [
    '## Record retention',
    `Reports, the review, the remediation and the disclosure history of every case are kept at least ` +
      `**${config.retention.years} years** (retention.years; never fewer than ${MIN_RETENTION_YEARS}). ` +
      `Once the local date (${config.calendar.time_zone}) is past a case's closure date plus that period, the ` +
      `daily retention run (${config.retention.run_at}) purges its content — the mails, their spool files, the ` +
      "outgoing mail bodies and addresses, the reporter's address, name and keys — and keeps a tombstone: the " +
      'case id, its dates, stage, resolution, severity and a final `case.purged` event on its hash chain. ' +
      'A case that is open or on legal hold is never purged.',
  ].join('\n\n');
}

/** The timeline of a report received when the document was generated, in this calendar. */
function timelineExample(input: ProgramInput, calendar: Calendar): string {
  const { config, generatedAt } = input;
  const d = config.deadlines;
  const due = (span: { amount: number; unit: Config['deadlines']['verify']['unit'] }): string =>
    formatLocal(calendar.add(generatedAt, span), calendar.zone);
  const rows: string[][] = [
    ['acknowledge', formatSpan(d.acknowledge), due(d.acknowledge)],
    ['triage', formatSpan(d.triage), due(d.triage)],
    ['verify', formatSpan(d.verify), due(d.verify)],
    ...FIX_SEVERITIES.map((s) => {
      const span = { amount: d.fix[s], unit: d.fix.unit };
      return [`fix (${s})`, formatSpan(span), due(span)];
    }),
  ];
  return [
    '## Example timeline',
    `For a report received when this document was generated, ${formatLocal(generatedAt, calendar.zone)}, ` +
      'with no pause or hold, the calendar above gives these due times:',
    table(['Deadline', 'Policy', 'Due'], rows),
    `Disclosure: on the agreed date, else ${formatSpan(d.disclose)} after the fix.`,
  ].join('\n\n');
}
