import {
  describeHold,
  describeStage,
  EVIDENCE_STAGES,
  everyStage,
  stateOf,
  type CaseEvidence,
  type StageResult,
} from './analyse.js';
import { stackedBars } from './charts.js';
import type { EvidenceDocument } from './document.js';
import { esc, type Shown } from './html.js';

/**
 * report.html: ONE self-contained file (inline CSS, inline SVG, no script, no external
 * reference), so it opens the same offline in ten years. Every value is escaped (`esc`); a
 * missed stage is marked red with its lateness in words, never by colour alone.
 */

const CSS = `
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1b1b1b; max-width: 80rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #bbb; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.met { background: #e8f5e9; }
td.missed { background: #ffebee; color: #b71c1c; font-weight: bold; }
td.open, td.paused { background: #fffde7; }
tr.broken td { background: #fce4ec; }
.warn { color: #b71c1c; font-weight: bold; }
code { font-size: 0.85rem; }
`;

const td = (text: Shown, cls = ''): string =>
  `<td${cls === '' ? '' : ` class="${esc(cls)}"`}>${esc(text)}</td>`;
const th = (text: Shown): string => `<th>${esc(text)}</th>`;
const row = (cells: string[], cls = ''): string =>
  `<tr${cls === '' ? '' : ` class="${esc(cls)}"`}>${cells.join('')}</tr>`;
const table = (head: string[], rows: string[]): string =>
  `<table><thead>${row(head.map(th))}</thead><tbody>${rows.join('')}</tbody></table>`;

function stageCell(s: StageResult): string {
  const due = s.dueAt === null ? '' : ` (due ${s.dueAt})`;
  return td(`${describeStage(s)}${due}`, s.verdict === 'missed' ? 'missed' : s.verdict);
}

function chainSection(doc: EvidenceDocument): string {
  const head =
    doc.chain.head === null
      ? 'no events'
      : `head event ${String(doc.chain.head.eventId)}, hash ${doc.chain.head.hash}`;
  const parts = [
    `<h2 id="chain">Event-chain verification</h2>`,
    `<p>${esc(`${String(doc.chain.events)} events; ${head}.`)}</p>`,
  ];
  if (doc.chain.rewrittenSince.length > 0) {
    parts.push(
      '<p class="warn">The chain was REWRITTEN after an earlier archive was written: its recorded head no longer matches.</p>',
      table(
        ['archive', 'written', 'why'],
        doc.chain.rewrittenSince.map((r) => row([td(r.archive), td(r.writtenAt), td(r.reason)], 'broken')),
      ),
    );
  }
  if (doc.chain.brokenCases.length === 0 && doc.chain.serviceEvents === null) {
    if (doc.chain.rewrittenSince.length === 0) parts.push('<p>Every case chain verifies.</p>');
    return parts.join('');
  }
  const rows = doc.chain.brokenCases.map((b) => row([td(b.caseId), td(b.eventId), td(b.reason)], 'broken'));
  if (doc.chain.serviceEvents !== null)
    rows.push(
      row(
        [td('(service events)'), td(doc.chain.serviceEvents.eventId), td(doc.chain.serviceEvents.reason)],
        'broken',
      ),
    );
  parts.push(
    '<p class="warn">The event chain is BROKEN: these records were changed or removed after they were written.</p>',
  );
  parts.push(table(['case', 'first broken event', 'why'], rows));
  return parts.join('');
}

function indexSection(doc: EvidenceDocument): string {
  const rows = doc.index.map((e) =>
    row([
      td(e.clause),
      td(e.title),
      `<td>${e.files.length === 0 ? '(no file in this archive)' : e.files.map((f) => `<a href="${esc(f.path)}"><code>${esc(f.path)}</code></a>${f.why === '' ? '' : ` — ${esc(f.why)}`}`).join('<br>')}</td>`,
    ]),
  );
  return `<h2 id="index">ISO/IEC 18974 verification materials</h2>${table(['clause', 'material', 'files in this archive'], rows)}`;
}

function procedureSection(doc: EvidenceDocument): string {
  const parts = ['<h2 id="procedure">Procedure versions in force</h2>'];
  if (doc.procedure.noStartRecorded)
    parts.push(
      '<p class="warn">No start of the service was recorded in or before this period; the documents are those of the configuration at export.</p>',
    );
  parts.push(
    table(
      ['configuration digest', 'source', 'first started', 'policy', 'calendar', 'team key', 'documents'],
      doc.procedure.versions.map((v) =>
        row([
          `<td><code>${esc(v.configDigest)}</code></td>`,
          td(v.source === 'current' ? 'configuration at export' : 'recorded start'),
          td(v.firstStartedAt),
          td(v.policyDigest),
          td(v.calendarDigest),
          td(v.teamFingerprint),
          td(v.error ?? v.files.map((f) => f.file).join(', ')),
        ]),
      ),
    ),
  );
  if (doc.procedure.starts.length > 0)
    parts.push(
      table(
        ['start', 'configuration digest', 'roles', 'version'],
        doc.procedure.starts.map((s) =>
          row([td(s.started_at), td(s.config_digest), td(s.roles), td(s.version)]),
        ),
      ),
    );
  return parts.join('');
}

function slaSection(doc: EvidenceDocument): string {
  const rows = doc.sla.rows
    .filter((r) => r.count > 0 || r.severity === 'all')
    .map((r) =>
      row([
        td(r.stage),
        td(r.severity),
        td(r.count),
        td(r.met),
        td(r.missed, r.missed > 0 ? 'missed' : ''),
        td(r.metPct === null ? '–' : `${String(r.metPct)} %`),
        td(r.medianBusinessDays ?? '–'),
        td(r.p90BusinessDays ?? '–'),
      ]),
    );
  const byStage = stackedBars(
    'Deadlines met and missed per stage',
    doc.sla.rows
      .filter((r) => r.severity === 'all' && r.count > 0)
      .map((r) => ({ label: r.stage, met: r.met, missed: r.missed })),
  );
  const months = new Map<string, { met: number; missed: number }>();
  for (const m of doc.sla.months) {
    const t = months.get(m.month) ?? { met: 0, missed: 0 };
    t.met += m.met;
    t.missed += m.missed;
    months.set(m.month, t);
  }
  const byMonth = stackedBars(
    'Deadlines met and missed per month (all stages)',
    [...months.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([label, t]) => ({ label, ...t })),
  );
  const monthRows = doc.sla.months.map((m) =>
    row([td(m.month), td(m.stage), td(m.met), td(m.missed, m.missed > 0 ? 'missed' : '')]),
  );
  return [
    '<h2 id="sla">SLA summary</h2>',
    '<p>Business days of the configured calendar. Decided deadlines only (met or missed); median and p90 (nearest rank) of the time each stage took.</p>',
    table(['stage', 'severity', 'decided', 'met', 'missed', 'met %', 'median', 'p90'], rows),
    `<figure>${byStage}</figure>`,
    `<figure>${byMonth}</figure>`,
    table(['month', 'stage', 'met', 'missed'], monthRows),
  ].join('');
}

function casesSection(doc: EvidenceDocument): string {
  const head = [
    'case',
    'state',
    'severity / CVSS',
    'assignee',
    'received',
    ...EVIDENCE_STAGES,
    'chain',
    ...(doc.includeSubjects ? ['subject'] : []),
  ];
  const rows = doc.cases.map((c) =>
    row(
      [
        `<td><a href="#${esc(c.id)}">${esc(c.id)}</a></td>`,
        td(stateOf(c)),
        td(`${c.severity ?? 'unscored'}${c.cvss.score === null ? '' : ` / ${String(c.cvss.score)}`}`),
        td(c.assignee === null ? '–' : (c.assignee.name ?? c.assignee.address)),
        td(c.received),
        ...c.stages.map(stageCell),
        td(
          c.chain.ok ? 'verifies' : `BROKEN at event ${String(c.chain.broken?.eventId ?? '?')}`,
          c.chain.ok ? '' : 'missed',
        ),
        ...(doc.includeSubjects ? [td(c.subject ?? '')] : []),
      ],
      c.chain.ok ? '' : 'broken',
    ),
  );
  return `<h2 id="cases">Cases</h2>${table(head, rows)}${doc.cases.map(caseDetail).join('')}`;
}

/** The cases on legal hold at the export (issue #13): kept whatever the retention policy says. */
function holdSection(doc: EvidenceDocument): string {
  const held = doc.cases.filter((c) => c.legalHold !== null);
  const intro =
    '<p>Cases on legal hold at the export: their deadlines and escalations stand still and the retention purge does not touch them.</p>';
  if (held.length === 0) return `<h2 id="holds">Legal holds</h2><p>No case is on legal hold.</p>`;
  return `<h2 id="holds">Legal holds</h2>${intro}${table(
    ['case', 'reason', 'since', 'by'],
    held.map((c) =>
      row([
        `<td><a href="#${esc(c.id)}">${esc(c.id)}</a></td>`,
        td(c.legalHold?.reason ?? '(no reason recorded)'),
        td(c.legalHold?.since ?? '–'),
        td(c.legalHold?.by ?? '–'),
      ]),
    ),
  )}`;
}

function caseDetail(c: CaseEvidence): string {
  const facts: [string, Shown][] = [
    ['received', c.received],
    ['acknowledged', c.acknowledged],
    ['triaged', c.triaged],
    ['verified', c.verified],
    [
      'severity / CVSS',
      `${c.severity ?? 'unscored'}${c.cvss.vector === null ? '' : ` ${c.cvss.vector} (${String(c.cvss.score)})`}`,
    ],
    ['fix due', c.fixDue],
    ['fixed', c.fixed],
    ['disclosure agreed for', c.disclosureAgreed],
    ['published', c.published],
    ['closed', c.closed === null ? null : `${c.closed} (${stateOf(c)})`],
    ['reopened', c.reopened],
    ['assignee', c.assignee === null ? null : `${c.assignee.name ?? ''} <${c.assignee.address}>`],
    ['legal hold', describeHold(c)],
    [
      'hold history',
      c.holdHistory
        .map(
          (h) => `${h.at} ${h.onHold ? `held: ${h.reason ?? '(no reason recorded)'}` : 'released'} (${h.by})`,
        )
        .join('; '),
    ],
    [
      'outside expertise',
      [
        ...c.outsideExpertise.organisations,
        ...c.outsideExpertise.escalatedAt.map((a) => `experts alerted ${a}`),
      ].join('; '),
    ],
  ];
  return [
    `<h3 id="${esc(c.id)}">${esc(c.id)}</h3>`,
    table(
      ['fact', 'value'],
      facts.map(([k, v]) => row([td(k), td(v === null || v === '' ? '–' : v)])),
    ),
    table(
      ['stage', 'due', 'done', 'outcome', 'took (business days)'],
      everyStage(c).map(({ cycle, result: s }) =>
        row([
          td(cycle === null ? s.stage : `${s.stage}, ${cycle}`),
          td(s.dueAt ?? '–'),
          td(s.doneAt ?? '–'),
          stageCell(s),
          td(s.takenBusinessDays ?? '–'),
        ]),
      ),
    ),
    `<details><summary>Timeline (${String(c.events.length)} events)</summary>${table(
      ['event', 'at', 'type', 'actor', 'detail'],
      c.events.map((e) =>
        row([
          td(e.id),
          td(e.at),
          td(e.type),
          td(e.actor),
          td(
            Object.entries(e.detail)
              .map(([k, v]) => `${k}: ${String(v)}`)
              .join(', '),
          ),
        ]),
      ),
    )}</details>`,
  ].join('');
}

export function renderReport(doc: EvidenceDocument): string {
  const title = `Evidence pack ${doc.period.from} – ${doc.period.to}`;
  const summary = `${String(doc.summary.cases)} cases, ${String(doc.summary.missedStages)} missed stages, ${String(doc.summary.brokenChains)} broken case chains. Written ${doc.generatedAt}; calendar ${doc.calendar.zone}.`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    // No request of any kind: nothing but this file, even for a favicon.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<link rel="icon" href="data:,">`,
    `<title>${esc(title)}</title><style>${CSS}</style></head><body>`,
    `<h1>${esc(title)}</h1>`,
    `<p>${esc(summary)}</p>`,
    '<p>Verify the archive: <code>sha256sum -c SHA256SUMS</code> and <code>gpg --verify SHA256SUMS.asc SHA256SUMS</code> with the team public key.</p>',
    chainSection(doc),
    indexSection(doc),
    procedureSection(doc),
    slaSection(doc),
    holdSection(doc),
    casesSection(doc),
    '</body></html>',
    '',
  ].join('\n');
}
