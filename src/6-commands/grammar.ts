/**
 * The staff command grammar (issue #4): slash commands anywhere in a subject line, after the case
 * tag. Pure: it only parses; who may run what, and what it does, is decided elsewhere.
 *
 *   Re: [SEC-2026-0042] Heap overflow /assign bob /cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H
 *
 * A command is `/name` at the start of the subject or after white space; its argument, when it
 * takes one, is the next word (or a "quoted phrase"). Anything else is ordinary subject text.
 */

import { RESOLUTIONS, SEVERITIES, type Resolution, type Severity } from '../core/vocabulary.js';
import { isVersion, MAX_REASON, MAX_TITLE, parseRange, type VersionRange } from '../advisory/model.js';

export { RESOLUTIONS, SEVERITIES, type Resolution, type Severity };

export type StaffCommand =
  | { name: 'help' }
  | { name: 'triage' }
  | { name: 'assign'; staff: string }
  | { name: 'severity'; severity: Severity }
  | { name: 'cvss'; vector: string }
  | { name: 'verified' }
  | { name: 'fix-by'; date: string }
  | { name: 'fixed' }
  | { name: 'disclose'; date: string }
  | { name: 'cve'; id: string }
  | { name: 'reply' }
  | { name: 'ack' }
  | { name: 'note' }
  | { name: 'tag'; word: string }
  | { name: 'external'; org: string }
  | { name: 'duplicate'; caseId: string }
  | { name: 'link'; caseId: string }
  | { name: 'close'; resolution: Resolution }
  | { name: 'reopen' }
  | { name: 'hold'; reason: string }
  | { name: 'unhold' }
  | { name: 'pause' }
  | { name: 'publish'; url: string }
  | { name: 'credit'; credit: string }
  // The advisory (issue #14): its fields, the draft for the reporter, revisions, customers.
  | { name: 'title'; title: string }
  | { name: 'summary' }
  | { name: 'cwe'; id: string }
  /** `range` null: `/affects <product> none` removes the product. */
  | { name: 'affects'; product: string; range: VersionRange | null }
  /** `version` null: `/fixed-in <product> none` removes the fixed version. */
  | { name: 'fixed-in'; product: string; version: string | null }
  | { name: 'ref'; url: string }
  | { name: 'draft' }
  | { name: 'no-draft'; reason: string }
  | { name: 'credit-override'; credit: string; reason: string }
  | { name: 'revise'; summary: string }
  | { name: 'notify' };

export type CommandName = StaffCommand['name'];

export interface RejectedCommand {
  /** The text as written, e.g. `/severity urgent`. */
  text: string;
  reason: string;
}

export interface ParsedCommands {
  commands: StaffCommand[];
  rejected: RejectedCommand[];
}

/** One line per command for `/help` and the README; the order is the grammar's. */
export const COMMAND_HELP: readonly [string, string][] = [
  ['/help', 'this list'],
  ['/triage', 'triaged as plausible: the case moves on to verifying'],
  ['/assign <staff>', 'assign the case to a staff member (address, local part or name)'],
  ['/severity <critical|high|medium|low|none>', 'set the severity'],
  ['/cvss <vector>', 'score a CVSS 3.1 or 4.0 vector; the score sets the severity'],
  ['/verified', 'the report is reproduced: the case moves on to fixing'],
  ['/fix-by <YYYY-MM-DD>', 'the date the fix is due'],
  ['/fixed', 'the fix is done: the case moves on to disclosure'],
  ['/disclose <YYYY-MM-DD>', 'the disclosure date agreed with the reporter'],
  ['/cve <CVE-YYYY-NNNN>', 'the CVE id'],
  ['/reply', 'send the body (without the quoted thread) to the reporter'],
  ['/ack', "send the acknowledgment the flood guard held back (same text, on the reporter's thread)"],
  ['/note', 'keep the body as an internal note (the default)'],
  ['/tag <word>', 'tag the case, e.g. zero-day, firmware, crypto'],
  ['/external <org>', 'outside expertise called in'],
  ['/duplicate <case>', 'close as a duplicate of another case'],
  ['/link <case>', 'link another case'],
  [`/close <${RESOLUTIONS.join('|')}>`, 'close with a resolution'],
  ['/reopen', 'reopen a closed case: back to triage, its deadlines start again'],
  [
    '/hold "<reason>"',
    'legal hold: deadlines and escalations stand still, the retention purge skips the case; the reason is recorded',
  ],
  ['/unhold', 'release the legal hold'],
  ['/pause', 'wait on the reporter (the clock pauses until they reply)'],
  ['/publish <https-url>', 'the advisory is published at this address (tells the reporter)'],
  ['/credit <"name"|none>', 'how the reporter is credited in the advisory (their own Credit: line wins)'],
  ['/title "<title>"', 'the advisory title'],
  ['/summary', 'the advisory summary: the body of this mail (without the quoted thread)'],
  ['/cwe <CWE-N>', 'the weakness (CWE id)'],
  ['/affects <product> <range|none>', 'an affected product and versions: *, 1.2.3, <2.4.1, >=2.0.0,<2.4.1'],
  ['/fixed-in <product> <version|none>', 'the first fixed version of a product'],
  ['/ref <https-url>', 'a reference for the advisory'],
  ['/draft', 'send the advisory draft to the reporter for corrections and their credit'],
  ['/no-draft "<reason>"', 'record why no draft can go to the reporter (anonymous, unreachable)'],
  [
    '/credit-override <"name"|none> "<reason>"',
    "publish another credit than the reporter's stated preference, with the reason",
  ],
  ['/revise "<what changed>"', 'a new revision of the published advisory'],
  ['/notify', 'mail the published advisory to every customer running an affected product'],
];

const NO_ARG = new Set<CommandName>([
  'help',
  'triage',
  'verified',
  'fixed',
  'reply',
  'ack',
  'note',
  'reopen',
  'unhold',
  'pause',
  'summary',
  'draft',
  'notify',
]);
const WITH_ARG = new Set<CommandName>([
  'assign',
  'severity',
  'cvss',
  'fix-by',
  'disclose',
  'cve',
  'tag',
  'external',
  'duplicate',
  'link',
  'close',
  'publish',
  'credit',
  'hold',
  'title',
  'cwe',
  'ref',
  'no-draft',
  'revise',
]);
/**
 * Commands whose arguments describe an unpublished flaw (#14): a rejected one is recorded by its
 * name and length only (the rejection is stored in clear: confirmation payload, event).
 */
const SEALED_ARGS = new Set<CommandName>(['title', 'cwe', 'affects', 'fixed-in', 'ref']);
const rejectedText = (name: CommandName, token: string, args: string[]): string =>
  SEALED_ARGS.has(name) ? `${token} (${args.join(' ').length} characters)` : [token, ...args].join(' ');

/** Commands with two arguments. */
const TWO_ARGS = new Set<CommandName>(['affects', 'fixed-in', 'credit-override']);

/** How `/hold` is written, for the rejection of one without a reason. */
export const HOLD_FORM = '/hold "<reason>" (e.g. /hold "litigation 2026-14"; one word needs no quotes)';

/** The longest legal-hold reason kept (it is shown in every confirmation and `cases show`). */
export const MAX_HOLD_REASON = 200;

const CVSS = /^CVSS:(3\.[01]|4\.0)\/[A-Z]{1,3}:[A-Z](\/[A-Z]{1,3}:[A-Z])+$/;
const CVE = /^CVE-\d{4}-\d{4,}$/i;
const WORD = /^[a-z0-9][a-z0-9-]{0,39}$/;
const CWE = /^CWE-[1-9][0-9]{0,5}$/i;
/** One line of staff text: printable, no control or format characters. */
const LINE = (s: string, max: number): boolean => s !== '' && s.length <= max && !/[\p{Cc}\p{Cf}]/u.test(s);
const HTTPS = (s: string): boolean =>
  /^https:\/\/[^\s/]+\.[^\s]+$/i.test(s) && URL.canParse(s) && s.length <= 500;

function isCalendarDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** Splits into words, keeping "quoted phrases" together (quotes removed). */
function words(subject: string): string[] {
  const out: string[] = [];
  for (const m of subject.matchAll(/"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2] ?? '');
  return out;
}

function build(name: CommandName, arg: string, caseIdPattern: string): StaffCommand | string {
  const caseRe = new RegExp(`^\\[?(${caseIdPattern})\\]?$`);
  switch (name) {
    case 'assign':
      return /^[^\s@]+(@[^\s@]+)?$/.test(arg)
        ? { name, staff: arg.toLowerCase() }
        : 'expects a staff address or name';
    case 'severity':
      return (SEVERITIES as readonly string[]).includes(arg.toLowerCase())
        ? { name, severity: arg.toLowerCase() as Severity }
        : `expects one of ${SEVERITIES.join(', ')}`;
    case 'cvss':
      return CVSS.test(arg) ? { name, vector: arg } : 'expects a CVSS:3.1/… or CVSS:4.0/… vector';
    case 'fix-by':
    case 'disclose':
      return isCalendarDate(arg) ? { name, date: arg } : 'expects a date YYYY-MM-DD';
    case 'cve':
      return CVE.test(arg) ? { name, id: arg.toUpperCase() } : 'expects a CVE id such as CVE-2026-12345';
    case 'tag':
      return WORD.test(arg.toLowerCase())
        ? { name, word: arg.toLowerCase() }
        : 'expects one word (letters, digits, "-")';
    case 'external':
      return arg.trim() !== '' && arg.length <= 100
        ? { name, org: arg.trim() }
        : 'expects an organisation name';
    case 'duplicate':
    case 'link': {
      const m = caseRe.exec(arg);
      return m?.[1] ? { name, caseId: m[1] } : 'expects a case id';
    }
    case 'publish':
      return HTTPS(arg) ? { name, url: arg } : 'expects the https:// address of the advisory';
    case 'ref':
      return HTTPS(arg) ? { name, url: arg } : 'expects an https:// address';
    case 'title':
      return LINE(arg.trim(), MAX_TITLE)
        ? { name, title: arg.trim() }
        : `expects a title in "quotes", one line of at most ${MAX_TITLE} characters`;
    case 'cwe':
      return CWE.test(arg) ? { name, id: arg.toUpperCase() } : 'expects a CWE id such as CWE-787';
    case 'no-draft':
    case 'revise':
      return LINE(arg.trim(), MAX_REASON)
        ? name === 'no-draft'
          ? { name, reason: arg.trim() }
          : { name, summary: arg.trim() }
        : `expects a reason in "quotes", one line of at most ${MAX_REASON} characters`;
    case 'credit':
      return arg.trim() !== '' && arg.length <= 200 && !/[\r\n]/.test(arg)
        ? { name, credit: arg.trim() }
        : 'expects a name (in "quotes" when it has spaces) or none';
    case 'hold':
      return holdCommand(arg);
    case 'close':
      return (RESOLUTIONS as readonly string[]).includes(arg.toLowerCase())
        ? { name, resolution: arg.toLowerCase() as Resolution }
        : `expects one of ${RESOLUTIONS.join(', ')}`;
    default:
      return 'takes no argument';
  }
}

function buildTwo(name: CommandName, a: string, b: string): StaffCommand | string {
  switch (name) {
    case 'affects': {
      if (!WORD.test(a.toLowerCase())) return 'expects a product id (see products in the config)';
      if (b.toLowerCase() === 'none') return { name, product: a.toLowerCase(), range: null };
      const range = parseRange(b);
      return typeof range === 'string' ? range : { name, product: a.toLowerCase(), range };
    }
    case 'fixed-in':
      if (!WORD.test(a.toLowerCase())) return 'expects a product id (see products in the config)';
      if (b.toLowerCase() === 'none') return { name, product: a.toLowerCase(), version: null };
      return isVersion(b)
        ? { name, product: a.toLowerCase(), version: b }
        : 'expects a version such as 2.4.1';
    case 'credit-override':
      return LINE(a.trim(), 200) && LINE(b.trim(), MAX_REASON)
        ? { name, credit: a.trim(), reason: b.trim() }
        : 'expects a name (or none) and a reason, each in "quotes"';
    default:
      return 'takes no two arguments';
  }
}

/**
 * `/hold` with its reason (also `psirt hold --reason`), or why the reason will not do. The reason
 * is staff-written text, not report content: one line, printable, at most MAX_HOLD_REASON long.
 */
export function holdCommand(arg: string): Extract<StaffCommand, { name: 'hold' }> | string {
  const reason = arg.trim();
  if (reason === '') return `needs a reason: ${HOLD_FORM}`;
  if (reason.length > MAX_HOLD_REASON || /[\p{Cc}\p{Cf}]/u.test(reason))
    return `expects a reason of at most ${MAX_HOLD_REASON} characters on one line: ${HOLD_FORM}`;
  return { name: 'hold', reason };
}

/** Parses every slash command in a subject; malformed or unknown ones are rejected with the reason. */
export function parseCommands(subject: string, caseIdPattern: string): ParsedCommands {
  const tokens = words(subject);
  const commands: StaffCommand[] = [];
  const rejected: RejectedCommand[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    const m = /^\/([a-z][a-z-]*)$/i.exec(token);
    if (!m) continue;
    const name = (m[1] ?? '').toLowerCase() as CommandName;
    if (NO_ARG.has(name)) {
      commands.push({ name } as StaffCommand);
      continue;
    }
    if (TWO_ARGS.has(name)) {
      const a = tokens[i + 1];
      const b = tokens[i + 2];
      if (a === undefined || b === undefined || a.startsWith('/') || b.startsWith('/')) {
        rejected.push({ text: token, reason: 'needs two arguments (see /help)' });
        continue;
      }
      i += 2;
      const built = buildTwo(name, a, b);
      if (typeof built === 'string')
        rejected.push({ text: rejectedText(name, token, [a, b]), reason: built });
      else commands.push(built);
      continue;
    }
    if (!WITH_ARG.has(name)) {
      rejected.push({ text: token, reason: 'unknown command (see /help)' });
      continue;
    }
    const arg = tokens[i + 1];
    if (arg === undefined || arg.startsWith('/')) {
      rejected.push({
        text: token,
        reason: name === 'hold' ? `needs a reason: ${HOLD_FORM}` : 'missing argument',
      });
      continue;
    }
    i += 1;
    const built = build(name, arg, caseIdPattern);
    if (typeof built === 'string') rejected.push({ text: rejectedText(name, token, [arg]), reason: built });
    else commands.push(built);
  }
  return { commands, rejected };
}
