import type { Calendar } from '../calendar/calendar.js';
import { ConfigSchema, type Config } from '../config/schema.js';
import { describeError } from '../core/errors.js';
import { CLAUSES, type Clause, type ProgramDocument, type ProgramInput } from '../program/types.js';
import { md } from '../program/markdown.js';
import type { EvidencePeriod } from '../7-cases/evidence-store.js';
import type { EvidenceHead } from '../7-cases/evidence-heads.js';
import type { ChainReport } from '../7-cases/events.js';
import {
  analyseCases,
  describeHold,
  describeStage,
  EVIDENCE_STAGES,
  everyStage,
  stateOf,
  type CaseEvidence,
  type StageResult,
} from './analyse.js';
import type { ClauseEntry, EvidenceDocument, EvidenceSummary, ProgramVersion } from './document.js';
import type { Shown } from './html.js';
import { renderReport } from './report.js';
import { summariseSla } from './sla.js';

/**
 * The evidence pack of an audit period (issue #12 Deliver 3), as files: evidence.json for
 * machines, report.html for people, index.md, cases.csv and the program documents of every
 * procedure version in force. Pure: the CLI reads the rows, writes the files, the manifest,
 * its signature and the archive.
 */

export const CLAUSE_TITLES: Readonly<Record<Clause, string>> = {
  '4.2.1.1': 'Publicly visible method to make a vulnerability inquiry',
  '4.2.1.2': 'Internal documented procedure for responding to vulnerability inquiries',
  '4.2.2.1': 'Persons, group or function in each program role',
  '4.2.2.2': 'Program roles staffed and funded',
  '4.2.2.3': 'Expertise available to address known vulnerabilities',
  '4.2.2.4': 'Procedure assigning internal responsibilities for security assurance',
};

/** The archive files (other than the program documents) that are material for a clause. */
const CASE_EVIDENCE: Readonly<Record<Clause, readonly string[]>> = {
  '4.2.1.1': ['report.html', 'evidence.json'],
  '4.2.1.2': ['report.html', 'evidence.json', 'cases.csv'],
  '4.2.2.1': ['report.html', 'cases.csv'],
  '4.2.2.2': [],
  '4.2.2.3': ['report.html', 'evidence.json'],
  '4.2.2.4': ['report.html', 'evidence.json'],
};

/** Why those files: shown beside them in the index. */
const CASE_EVIDENCE_WHY: Readonly<Record<Clause, string>> = {
  '4.2.1.1': 'every case received through the channel in the period, with its acknowledgment',
  '4.2.1.2': 'each stage of each case met or missed against the procedure, and the SLA summary',
  '4.2.2.1': 'the assignee of each case',
  '4.2.2.2': '',
  '4.2.2.3': 'outside expertise called per case',
  '4.2.2.4': 'who acted on each case (the timeline), and the event-chain verification',
};

export interface EvidencePackInput {
  /** YYYY-MM-DD, in the calendar's zone, inclusive. */
  period: { from: string; to: string };
  generatedAt: Date;
  config: Config;
  calendar: Calendar;
  data: EvidencePeriod;
  chain: ChainReport;
  /** Every earlier archive's chain head and that event's hash now (src/7-cases/evidence-heads.ts). */
  earlierArchives: readonly EvidenceHead[];
  includeSubjects: boolean;
  /** The configuration the export runs with: rendered too when no start recorded it. */
  current: { configDigest: string; teamKey: ProgramInput['teamKey'] };
  /**
   * The program documents of a configuration (src/program/render.ts `renderProgram`, another
   * part of #12). Injected: the CLI wires the real one, tests a fake.
   */
  renderProgram: (input: ProgramInput) => ProgramDocument[];
  onCase?: (done: number, total: number) => void;
}

export interface EvidenceFile {
  /** Path inside the archive folder, "/"-separated. */
  path: string;
  content: string;
}

export interface EvidencePack {
  files: EvidenceFile[];
  summary: EvidenceSummary;
}

export function buildEvidencePack(input: EvidencePackInput): EvidencePack {
  const cases = analyseCases(input.data, {
    calendar: input.calendar,
    staff: input.config.staff,
    now: input.generatedAt,
    chains: input.chain.cases,
    ...(input.onCase === undefined ? {} : { onCase: input.onCase }),
  });
  const sla = summariseSla(cases, input.calendar.zone);
  const { versions, programFiles } = programVersions(input);
  const service = input.chain.cases.get('');
  const rewrittenSince = input.earlierArchives.flatMap((a) =>
    a.headEventId === null || a.currentHash === a.headHash
      ? []
      : [
          {
            archive: a.archive,
            writtenAt: a.writtenAt,
            headEventId: a.headEventId,
            reason:
              a.currentHash === null
                ? `its head event ${String(a.headEventId)} no longer exists`
                : `its head event ${String(a.headEventId)} has hash ${a.currentHash.slice(0, 16)}, the archive recorded ${(a.headHash ?? '').slice(0, 16)}`,
          },
        ],
  );
  const summary: EvidenceSummary = {
    cases: cases.length,
    missedStages: cases.reduce(
      (n, c) => n + everyStage(c).filter((s) => s.result.verdict === 'missed').length,
      0,
    ),
    brokenChains: cases.filter((c) => !c.chain.ok).length,
    serviceChainBroken: service?.broken != null,
    rewrittenSinceArchives: rewrittenSince.length,
    noStartRecorded: input.data.starts.length === 0,
  };
  const index = clauseIndex(versions);
  const doc: EvidenceDocument = {
    format: 'psirt-evidence/1',
    period: input.period,
    generatedAt: input.generatedAt.toISOString(),
    calendar: { zone: input.calendar.zone, id: input.calendar.id },
    includeSubjects: input.includeSubjects,
    summary,
    chain: {
      events: input.chain.events,
      head: input.chain.head,
      firstBroken: input.chain.firstBroken,
      brokenCases: cases
        .filter((c) => !c.chain.ok)
        .map((c) => ({
          caseId: c.id,
          eventId: c.chain.broken?.eventId ?? null,
          reason: c.chain.broken?.reason ?? '',
        })),
      serviceEvents: service?.broken ?? null,
      rewrittenSince,
    },
    procedure: { versions, starts: input.data.starts, noStartRecorded: summary.noStartRecorded },
    index,
    sla,
    cases,
  };
  const files: EvidenceFile[] = [
    { path: 'evidence.json', content: `${JSON.stringify(doc, null, 2)}\n` },
    { path: 'report.html', content: renderReport(doc) },
    { path: 'index.md', content: renderIndexMd(doc, input.current.teamKey.fingerprint) },
    { path: 'cases.csv', content: renderCsv(cases, input.includeSubjects) },
    ...programFiles,
  ];
  return { files, summary };
}

/** Each clause 4.2.1.1–4.2.2.4 and the archive files that are its verification material. */
export function clauseIndex(versions: readonly ProgramVersion[]): ClauseEntry[] {
  return CLAUSES.map((clause) => ({
    clause,
    title: CLAUSE_TITLES[clause],
    files: [
      ...versions.flatMap((v) =>
        v.files
          .filter((f) => f.clauses.includes(clause))
          .map((f) => ({
            path: `program/${v.configDigest}/${f.file}`,
            why: `${f.title} (procedure version ${v.configDigest.slice(0, 12)}, ${v.source === 'current' ? 'configuration at export' : `first started ${v.firstStartedAt}`})`,
          })),
      ),
      ...CASE_EVIDENCE[clause].map((path) => ({ path, why: CASE_EVIDENCE_WHY[clause] })),
    ],
  }));
}

function programVersions(input: EvidencePackInput): {
  versions: ProgramVersion[];
  programFiles: EvidenceFile[];
} {
  const versions: ProgramVersion[] = [];
  const programFiles: EvidenceFile[] = [];
  const add = (
    meta: Omit<ProgramVersion, 'files' | 'error'>,
    config: () => Config,
    teamKey: ProgramInput['teamKey'],
  ): void => {
    let docs: ProgramDocument[];
    try {
      docs = input.renderProgram({
        config: config(),
        teamKey,
        configDigest: meta.configDigest,
        generatedAt: new Date(meta.firstStartedAt),
      });
    } catch (err) {
      versions.push({ ...meta, files: [], error: `could not be rendered again: ${describeError(err)}` });
      return;
    }
    versions.push({
      ...meta,
      files: docs.map((d) => ({ file: d.file, clauses: d.clauses, title: d.title })),
      error: null,
    });
    for (const d of docs)
      programFiles.push({ path: `program/${meta.configDigest}/${d.file}`, content: d.content });
  };
  for (const v of input.data.versions) {
    add(
      {
        configDigest: v.config_digest,
        firstStartedAt: v.first_started_at,
        policyDigest: v.policy_digest,
        calendarDigest: v.calendar_digest,
        teamFingerprint: v.team_fingerprint,
        source: 'recorded',
      },
      () => ConfigSchema.parse(JSON.parse(v.config_json)),
      {
        fingerprint: v.team_fingerprint,
        expires: v.team_key_expires === null ? null : new Date(v.team_key_expires),
      },
    );
  }
  // No start recorded in or before the period: the configuration at export stands in, marked so.
  if (input.data.versions.length === 0) {
    add(
      {
        configDigest: input.current.configDigest,
        firstStartedAt: input.generatedAt.toISOString(),
        policyDigest: '',
        calendarDigest: input.calendar.id,
        teamFingerprint: input.current.teamKey.fingerprint,
        source: 'current',
      },
      () => input.config,
      input.current.teamKey,
    );
  }
  return { versions, programFiles };
}

function renderIndexMd(doc: EvidenceDocument, signer: string): string {
  const lines = [
    `# Evidence pack ${doc.period.from} – ${doc.period.to}`,
    '',
    `Written ${doc.generatedAt} (calendar ${doc.calendar.zone}). ${String(doc.summary.cases)} cases, ` +
      `${String(doc.summary.missedStages)} missed stages, ${String(doc.summary.brokenChains)} broken case chains.`,
    '',
    'Verify this archive: `gpg --verify SHA256SUMS.asc SHA256SUMS` with the team public key, fetched independently ' +
      `(its fingerprint: ${signer}, as security.txt and SECURITY.md publish it), then \`sha256sum -c SHA256SUMS\` ` +
      'and check that no file is present beyond those listed.',
    '',
  ];
  if (doc.chain.rewrittenSince.length > 0) {
    lines.push('## Chain rewritten since an earlier archive', '');
    for (const r of doc.chain.rewrittenSince)
      lines.push(`- archive ${r.archive} (written ${r.writtenAt}): ${r.reason}`);
    lines.push('');
  }
  if (doc.chain.brokenCases.length > 0 || doc.chain.serviceEvents !== null) {
    lines.push('## Broken event chains', '');
    for (const b of doc.chain.brokenCases)
      lines.push(`- **${b.caseId}**: event ${String(b.eventId ?? '?')}: ${b.reason}`);
    if (doc.chain.serviceEvents !== null)
      lines.push(
        `- service events: event ${String(doc.chain.serviceEvents.eventId)}: ${doc.chain.serviceEvents.reason}`,
      );
    lines.push('');
  }
  lines.push('## ISO/IEC 18974 verification materials', '');
  for (const e of doc.index) {
    lines.push(`### ${e.clause} ${e.title}`, '');
    if (e.files.length === 0) lines.push('- (no file in this archive)');
    for (const f of e.files) lines.push(`- \`${f.path}\`${f.why === '' ? '' : ` — ${f.why}`}`);
    lines.push('');
  }
  lines.push('## Procedure versions', '');
  if (doc.procedure.noStartRecorded)
    lines.push(
      'No start of the service was recorded in or before this period; the documents are those of the configuration at export.',
      '',
    );
  for (const v of doc.procedure.versions)
    lines.push(
      `- \`${v.configDigest}\` (${v.source === 'current' ? 'configuration at export' : `first started ${v.firstStartedAt}`})${v.error === null ? '' : `: ${v.error}`}`,
    );
  const held = doc.cases.filter((c) => c.legalHold !== null);
  if (held.length > 0) {
    lines.push('', '## Cases on legal hold', '');
    // The reason is staff-written: written literally, never as Markdown or HTML.
    for (const c of held) lines.push(`- ${c.id}: ${md(describeHold(c) ?? '')}`);
  }
  lines.push('', '## Cases', '');
  for (const c of doc.cases) {
    const missed = everyStage(c)
      .filter((s) => s.result.verdict === 'missed')
      .map((s) => `${s.cycle === null ? '' : `${s.cycle} `}${s.result.stage} ${describeStage(s.result)}`);
    const chain = c.chain.ok ? '' : ` — CHAIN BROKEN at event ${String(c.chain.broken?.eventId ?? '?')}`;
    lines.push(`- ${c.id}: ${stateOf(c)}${missed.length > 0 ? `; ${missed.join('; ')}` : ''}${chain}`);
  }
  return `${lines.join('\n')}\n`;
}

/** RFC 4180: every field quoted, quotes doubled; a leading =,+,-,@ is prefixed so no sheet runs it. */
function csvField(value: Shown): string {
  let s = value === null || value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

function csvStage(s: StageResult): Shown[] {
  return [
    s.verdict === 'missed' && s.stillOpen ? 'missed-open' : s.verdict,
    s.businessDays,
    s.dueAt,
    s.doneAt,
  ];
}

function renderCsv(cases: readonly CaseEvidence[], includeSubjects: boolean): string {
  const header = [
    'case',
    'cycle',
    'state',
    'severity',
    'cvss',
    'assignee',
    'received',
    'closed',
    'chain_ok',
    ...EVIDENCE_STAGES.flatMap((s) => [`${s}_verdict`, `${s}_business_days`, `${s}_due`, `${s}_done`]),
    ...(includeSubjects ? ['subject'] : []),
  ];
  // One row per cycle: a reopened case's earlier cycles first, each named in `cycle`.
  const rows = cases.flatMap((c) =>
    [
      ...c.earlierCycles.map((y) => ({ cycle: y.label, stages: y.stages })),
      { cycle: c.cycleLabel, stages: c.stages },
    ].map((y) => [
      c.id,
      y.cycle ?? '',
      stateOf(c),
      c.severity,
      c.cvss.score,
      c.assignee?.address,
      c.received,
      c.closed,
      c.chain.ok,
      ...y.stages.flatMap(csvStage),
      ...(includeSubjects ? [c.subject] : []),
    ]),
  );
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}
