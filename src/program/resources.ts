import { STAFF_ROLES, type Config } from '../config/schema.js';
import { holdersOf, named, staffByAddress } from './facts.js';
import { bullets, md, person, table } from './markdown.js';
import type { ProgramInput } from './types.js';

/**
 * 4.2.2.1–4.2.2.3: who holds each program role, the time and money allocated to them, and the
 * expertise available to resolve vulnerabilities — from `[[staff]]`, `[staffing]` and
 * `escalation.outside_expertise`, the same lists the service routes mail and escalations by.
 */

type Role = (typeof STAFF_ROLES)[number];

/** What each role does in the program (the roles of src/config/schema/fields.ts ROLES). */
export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  security: 'triages, verifies and scores reports, drives cases and speaks with reporters',
  developer: 'reproduces and fixes vulnerabilities in the products',
  manager: 'accountable for the program: decisions, escalations, resources',
  legal: 'advises on disclosure, safe harbour, legal holds and contracts',
  communications: 'writes and publishes advisories and informs customers',
  support: 'is informed of fixes and advisories and answers customers',
};

/** The sections of roles.md (4.2.2.1). */
export function rolesSections(input: ProgramInput): string[] {
  const { config } = input;
  const rows = STAFF_ROLES.map((role) => {
    const holders = holdersOf(config, role);
    return [
      role,
      ROLE_DESCRIPTIONS[role],
      holders.length > 0 ? holders.map((h) => person(h.name, h.address)).join('; ') : '**nobody**',
    ];
  });
  return [
    `The program roles of ${md(config.organisation.name)} and the people who hold them (\`[[staff]]\`). ` +
      'Staff commands are accepted only from these people, within the roles the RACI matrix gives them (raci.md).',
    table(['Role', 'What it does', 'Holders'], rows),
    '## Escalation contacts',
    bullets(
      [
        `On-call (missed deadlines): ${named(config, config.escalation.oncall_address)}`,
        `Accountable role (far-past deadlines, outside expertise, public channel expiry): ${named(config, config.escalation.accountable_address)}`,
        `Public reporting address: ${md(config.organisation.security_address)}`,
      ],
      '',
    ),
  ];
}

/** The sections of staffing.md (4.2.2.2). */
export function staffingSections(input: ProgramInput): string[] {
  const { config, generatedAt } = input;
  const s = config.staffing;
  return [
    '## Time allocated per role holder',
    allocations(config),
    '## Budget',
    budget(config),
    '## Review',
    s.review_by === undefined
      ? 'No review date set (staffing.review_by).'
      : `Staffing and funding are next reviewed by ${md(s.review_by)}` +
        (s.review_by < generatedAt.toISOString().slice(0, 10) ? ' — **this date has passed**.' : '.'),
  ];
}

function allocations(config: Config): string {
  const list = config.staffing.allocations;
  if (list.length === 0) return 'No working time is allocated (staffing.allocations is empty).';
  const rows = list.map((a) => {
    const holder = staffByAddress(config, a.holder);
    return [
      holder === undefined ? md(a.holder) : person(holder.name, a.holder),
      a.role,
      md(a.hours_per_week),
    ];
  });
  const totals = STAFF_ROLES.flatMap((role) => {
    const mine = list.filter((a) => a.role === role);
    if (mine.length === 0) return [];
    return [[role, String(mine.length), md(mine.reduce((sum, a) => sum + a.hours_per_week, 0))]];
  });
  const unallocated = config.staff.flatMap((m) =>
    m.roles
      .filter((r) => !list.some((a) => a.holder === m.address && a.role === r))
      .map((r) => `${person(m.name, m.address)}: ${r}`),
  );
  return [
    table(['Holder', 'Role', 'Hours per week'], rows),
    '### Total per role',
    table(['Role', 'Holders with time', 'Hours per week'], totals),
    '### Roles held without allocated time',
    bullets(unallocated, 'None: every role holder has time allocated.'),
  ].join('\n\n');
}

const amountText = (n: number): string =>
  n.toLocaleString('en-GB', { minimumFractionDigits: 0, maximumFractionDigits: 2 });

function budget(config: Config): string {
  const lines = config.staffing.budget;
  if (lines.length === 0) return 'No budget lines are recorded (staffing.budget is empty).';
  const rows = lines.map((b) => [
    md(b.item),
    `${md(amountText(b.amount))} ${b.currency}`,
    md(b.period),
    md(b.approver),
    md(b.approved_on),
  ]);
  const currencies = [...new Set(lines.map((b) => b.currency))];
  const totals = currencies.map((c) => [
    c,
    md(amountText(lines.filter((b) => b.currency === c).reduce((sum, b) => sum + b.amount, 0))),
  ]);
  return [
    table(['Item', 'Amount', 'Period', 'Approved by', 'Approved on'], rows),
    '### Total per currency',
    table(['Currency', 'Total'], totals),
  ].join('\n\n');
}

/** The sections of expertise.md (4.2.2.3). */
export function expertiseSections(input: ProgramInput): string[] {
  const { config } = input;
  const o = config.escalation.outside_expertise;
  return [
    '## Internal expertise by vulnerability type',
    internal(config),
    '## External organisations',
    o.experts.length === 0
      ? 'No external organisation is listed (escalation.outside_expertise.experts is empty).'
      : table(
          ['Organisation', 'Contact', 'Contract', 'Expertise'],
          o.experts.map((e) => [
            md(e.name),
            md(e.contact),
            e.contract === undefined ? 'no contract recorded' : md(e.contract),
            e.expertise.map(md).join(', '),
          ]),
        ),
    '## When outside expertise is called',
    bullets(
      [
        `A case tagged (\`/tag\`) with one of: ${o.tags.length > 0 ? o.tags.map(md).join(', ') : 'none configured'}`,
        `A case whose fix date lies more than ${o.max_fix_days} days after the report`,
      ],
      '',
    ),
    `For such a case the service sends one escalation to the accountable role, ` +
      `${named(config, config.escalation.accountable_address)}, naming the organisations whose expertise ` +
      'matches a tag of the case, or all of them when none matches. Whoever calls them records it with ' +
      '`/external <org>`, so the case history shows that outside help was engaged.',
  ];
}

function internal(config: Config): string {
  const byType = new Map<string, { label: string; people: string[] }>();
  for (const s of config.staff) {
    for (const x of s.expertise) {
      const key = x.toLowerCase();
      const entry = byType.get(key) ?? { label: x, people: [] };
      entry.people.push(`${person(s.name, s.address)}, ${s.roles.join('/')}`);
      byType.set(key, entry);
    }
  }
  if (byType.size === 0) return 'No internal expertise is recorded (`[[staff]]` expertise is empty).';
  const rows = [...byType.values()]
    .sort((a, b) => a.label.localeCompare(b.label, 'en'))
    .map((e) => [md(e.label), e.people.join('; ')]);
  return table(['Vulnerability type', 'People (role)'], rows);
}
