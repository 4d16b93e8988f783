import { describe, expect, it } from 'vitest';
import { createCalendar } from '../../../src/calendar/calendar.js';
import type { EvidencePeriod } from '../../../src/7-cases/evidence-store.js';
import type { CaseChainVerdict, ChainReport } from '../../../src/7-cases/events.js';
import { loadConfig } from '../../../src/config/load.js';
import { buildEvidencePack, type EvidencePackInput } from '../../../src/evidence/pack.js';
import { esc } from '../../../src/evidence/html.js';
import { CLAUSES, type ProgramDocument, type ProgramInput } from '../../../src/program/types.js';

const config = loadConfig({ env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'x' } });
const calendar = createCalendar(config.calendar);
const HOSTILE = `"><script>alert(1)</script><img src=x onerror=alert(2)>`;

/** A fake of src/program/render.ts: one document per clause, naming the digest it was given. */
const calls: ProgramInput[] = [];
function fakeRenderProgram(input: ProgramInput): ProgramDocument[] {
  calls.push(input);
  return CLAUSES.map((clause) => ({
    file: `${clause}.md`,
    clauses: [clause],
    title: `Document ${clause}`,
    content: `# ${clause}\n\nconfiguration ${input.configDigest}\n`,
  }));
}

function period(over: Partial<EvidencePeriod> = {}): EvidencePeriod {
  return {
    cases: [
      {
        id: 'SEC-2026-0001',
        stage: 'fixing',
        resolution: null,
        severity: 'high',
        cvss_vector: null,
        cvss_score: null,
        assignee: 'alice@psirt.test',
        on_hold: false,
        hold_reason: null,
        held_at: null,
        held_by: null,
        waiting_on_reporter: false,
        created_at: '2026-11-02T09:00:00.000Z',
        closed_at: null,
        triaged_at: null,
        verified_at: '2026-11-03T09:00:00.000Z',
        fixed_at: null,
        published_at: null,
        reopened_at: null,
        fix_by: null,
        disclose_on: null,
        external: [HOSTILE],
        duplicate_of: null,
        subject: HOSTILE,
      },
      {
        id: 'SEC-2026-0002',
        stage: 'received',
        resolution: null,
        severity: null,
        cvss_vector: null,
        cvss_score: null,
        assignee: null,
        on_hold: false,
        hold_reason: null,
        held_at: null,
        held_by: null,
        waiting_on_reporter: false,
        created_at: '2026-11-04T09:00:00.000Z',
        closed_at: null,
        triaged_at: null,
        verified_at: null,
        fixed_at: null,
        published_at: null,
        reopened_at: null,
        fix_by: null,
        disclose_on: null,
        external: [],
        duplicate_of: null,
      },
    ],
    events: [],
    deadlines: [
      {
        case_id: 'SEC-2026-0001',
        kind: 'verify',
        due_at: '2026-11-02T10:00:00.000Z',
        met_at: '2026-11-03T09:00:00.000Z',
        state: 'met',
        policy: 'p',
        calendar: calendar.id,
      },
    ],
    earlierDeadlines: [],
    expertCalls: [],
    versions: [],
    starts: [],
    ...over,
  };
}

const verdict = (caseId: string, broken: CaseChainVerdict['broken']): CaseChainVerdict => ({
  caseId,
  events: 2,
  firstEventId: 1,
  headEventId: 2,
  headHash: 'h',
  broken,
});
function chain(broken: CaseChainVerdict['broken'] = null): ChainReport {
  return {
    events: 4,
    head: { eventId: 4, hash: 'h4' },
    firstBroken:
      broken === null ? null : { eventId: broken.eventId, caseId: 'SEC-2026-0002', reason: broken.reason },
    cases: new Map([
      ['SEC-2026-0001', verdict('SEC-2026-0001', null)],
      ['SEC-2026-0002', verdict('SEC-2026-0002', broken)],
    ]),
  };
}

function input(over: Partial<EvidencePackInput> = {}): EvidencePackInput {
  return {
    period: { from: '2026-01-01', to: '2026-12-31' },
    generatedAt: new Date('2026-12-01T12:00:00Z'),
    config,
    calendar,
    data: period(),
    chain: chain(),
    earlierArchives: [],
    includeSubjects: true,
    current: { configDigest: 'c'.repeat(64), teamKey: { fingerprint: 'ABCD', expires: null } },
    renderProgram: fakeRenderProgram,
    ...over,
  };
}

const file = (pack: ReturnType<typeof buildEvidencePack>, path: string): string => {
  const f = pack.files.find((x) => x.path === path);
  if (f === undefined) throw new Error(`no ${path} in ${pack.files.map((x) => x.path).join(', ')}`);
  return f.content;
};

describe('esc', () => {
  it('escapes the five HTML-special characters', () => {
    expect(esc(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });
});

describe('buildEvidencePack', () => {
  it('puts a hostile subject and organisation into report.html as text only', () => {
    const html = file(buildEvidencePack(input()), 'report.html');
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toMatch(/<script|src="http|href="http/);
  });

  it('marks the missed stage in the report with its lateness', () => {
    const html = file(buildEvidencePack(input()), 'report.html');
    expect(html).toMatch(/<td class="missed">missed, [\d.]+ business days? late/);
  });

  it('renders each recorded procedure version from its stored config and maps every clause to its files', () => {
    calls.length = 0;
    const digest = 'a'.repeat(64);
    const pack = buildEvidencePack(
      input({
        current: { configDigest: digest, teamKey: { fingerprint: 'ABCD', expires: null } },
        data: period({
          versions: [
            {
              config_digest: digest,
              first_started_at: '2026-10-01T08:00:00.000Z',
              policy_digest: 'pol',
              calendar_digest: 'cal',
              team_fingerprint: 'ABCD',
              team_key_expires: '2027-10-01T00:00:00.000Z',
              config_json: JSON.stringify(config),
            },
          ],
          starts: [
            {
              id: 1,
              started_at: '2026-10-01T08:00:00.000Z',
              config_digest: digest,
              roles: 'all',
              version: '0.1.0',
            },
          ],
        }),
      }),
    );
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      configDigest: digest,
      generatedAt: new Date('2026-10-01T08:00:00.000Z'),
    });
    expect(calls[0]!.teamKey.expires).toEqual(new Date('2027-10-01T00:00:00.000Z'));
    expect(file(pack, `program/${digest}/4.2.2.3.md`)).toContain(`configuration ${digest}`);
    const index = file(pack, 'index.md');
    for (const clause of CLAUSES) expect(index).toContain(`\`program/${digest}/${clause}.md\``);
    expect(pack.summary.noStartRecorded).toBe(false);
    const html = file(pack, 'report.html');
    expect(html).toContain(`href="program/${digest}/4.2.1.1.md"`);
  });

  it('still exports with no start recorded: says so and renders the configuration at export', () => {
    calls.length = 0;
    const pack = buildEvidencePack(input());
    expect(pack.summary.noStartRecorded).toBe(true);
    expect(calls.map((c) => c.configDigest)).toEqual(['c'.repeat(64)]);
    expect(file(pack, 'index.md')).toContain('No start of the service was recorded');
    const json = JSON.parse(file(pack, 'evidence.json')) as { procedure: { versions: { source: string }[] } };
    expect(json.procedure.versions.map((v) => v.source)).toEqual(['current']);
  });

  it('keeps exporting when a stored configuration no longer parses, naming why', () => {
    const pack = buildEvidencePack(
      input({
        data: period({
          versions: [
            {
              config_digest: 'b'.repeat(64),
              first_started_at: '2026-10-01T08:00:00.000Z',
              policy_digest: 'pol',
              calendar_digest: 'cal',
              team_fingerprint: 'ABCD',
              team_key_expires: null,
              config_json: '{"organisation":{}}',
            },
          ],
        }),
      }),
    );
    const json = JSON.parse(file(pack, 'evidence.json')) as {
      procedure: { versions: { error: string | null }[] };
    };
    expect(json.procedure.versions[0]!.error).toMatch(/could not be rendered again/);
    expect(pack.files.some((f) => f.path.startsWith(`program/${'b'.repeat(64)}/`))).toBe(false);
  });

  it('adds no "configuration at export" when a start was recorded, even with another digest (#12 trial)', () => {
    calls.length = 0;
    const recorded = 'd'.repeat(64);
    buildEvidencePack(
      input({
        data: period({
          versions: [
            {
              config_digest: recorded,
              first_started_at: '2026-10-01T08:00:00.000Z',
              policy_digest: 'pol',
              calendar_digest: 'cal',
              team_fingerprint: 'ABCD',
              team_key_expires: null,
              config_json: JSON.stringify(config),
            },
          ],
        }),
      }),
    );
    expect(calls.map((c) => c.configDigest)).toEqual([recorded]);
  });

  it('reports an earlier archive whose chain head was rewritten since, though the chain verifies (#12 trial)', () => {
    const archive = (currentHash: string | null) => ({
      exportId: 1,
      writtenAt: '2026-11-01T00:00:00.000Z',
      archive: 'q3.tar.gz',
      headEventId: 4,
      headHash: 'a'.repeat(64),
      currentHash,
    });
    const same = buildEvidencePack(input({ earlierArchives: [archive('a'.repeat(64))] }));
    expect(same.summary.rewrittenSinceArchives).toBe(0);
    expect(file(same, 'report.html')).toContain('Every case chain verifies.');
    const rewritten = buildEvidencePack(input({ earlierArchives: [archive('b'.repeat(64)), archive(null)] }));
    expect(rewritten.summary.rewrittenSinceArchives).toBe(2);
    const index = file(rewritten, 'index.md');
    expect(index).toContain('## Chain rewritten since an earlier archive');
    expect(index).toContain(
      `- archive q3.tar.gz (written 2026-11-01T00:00:00.000Z): its head event 4 has hash ${'b'.repeat(16)}`,
    );
    expect(index).toContain('its head event 4 no longer exists');
    const html = file(rewritten, 'report.html');
    expect(html).toContain('The chain was REWRITTEN after an earlier archive was written');
    expect(html).not.toContain('Every case chain verifies.');
  });

  it('lists a case with a broken chain first, in the index and the JSON, naming the event', () => {
    const pack = buildEvidencePack(
      input({ chain: chain({ eventId: 3, reason: 'content does not match its hash' }) }),
    );
    const json = JSON.parse(file(pack, 'evidence.json')) as {
      cases: { id: string }[];
      chain: { brokenCases: unknown[] };
    };
    expect(json.cases.map((c) => c.id)).toEqual(['SEC-2026-0002', 'SEC-2026-0001']);
    expect(json.chain.brokenCases).toEqual([
      { caseId: 'SEC-2026-0002', eventId: 3, reason: 'content does not match its hash' },
    ]);
    expect(file(pack, 'index.md')).toContain('- **SEC-2026-0002**: event 3: content does not match its hash');
    expect(pack.summary.brokenChains).toBe(1);
  });

  it('has no subject column in cases.csv or report.html without includeSubjects', () => {
    const data = period();
    const noSubjects = {
      ...data,
      cases: data.cases.map((c) => {
        const copy = { ...c };
        delete copy.subject;
        return copy;
      }),
    };
    const pack = buildEvidencePack(input({ includeSubjects: false, data: noSubjects }));
    expect(file(pack, 'cases.csv').split('\r\n')[0]).not.toContain('subject');
    expect(file(pack, 'report.html')).not.toContain('<th>subject</th>');
    expect(file(buildEvidencePack(input()), 'report.html')).toContain('<th>subject</th>');
  });

  it("shows a reopened case's earlier cycle in every part: missed count, index.md, cases.csv, report.html", () => {
    const data = period();
    const cycle1 = {
      case_id: 'SEC-2026-0001',
      kind: 'triage',
      due_at: '2026-11-05T10:00:00.000Z',
      met_at: '2026-11-10T10:00:00.000Z',
      state: 'met',
      policy: 'p',
      calendar: calendar.id,
      cycle_started_at: data.cases[0]!.created_at,
      cycle_ended_at: '2026-11-11T10:00:00.000Z',
    };
    const reopened = {
      ...data,
      cases: data.cases.map((c, i) => (i === 0 ? { ...c, reopened_at: '2026-11-12T10:00:00.000Z' } : c)),
      earlierDeadlines: [cycle1],
    };
    const base = buildEvidencePack(input()).summary.missedStages;
    const pack = buildEvidencePack(input({ data: reopened }));
    expect(pack.summary.missedStages).toBe(base + 1);
    const label = `cycle 1 (received ${data.cases[0]!.created_at.slice(0, 10)})`;
    expect(file(pack, 'index.md')).toContain(`${label} triage missed, 5 business days late`);
    const csv = file(pack, 'cases.csv').split('\r\n');
    expect(csv[0]).toContain('"case","cycle",');
    expect(csv.filter((l) => l.startsWith('"SEC-2026-0001",'))).toHaveLength(2);
    expect(csv.some((l) => l.startsWith(`"SEC-2026-0001","${label}"`))).toBe(true);
    expect(file(pack, 'report.html')).toContain(`<td>triage, ${label}</td>`);
  });
});

describe('the evidence pack of a case on legal hold (issue #13)', () => {
  const data = period();
  const heldData: EvidencePeriod = {
    ...data,
    cases: data.cases.map((c, i) =>
      i === 1
        ? {
            ...c,
            on_hold: true,
            hold_reason: `litigation ${HOSTILE}`,
            held_at: '2026-11-20T09:00:00.000Z',
            held_by: 'carol@psirt.test',
          }
        : c,
    ),
    events: [
      {
        id: 7,
        case_id: 'SEC-2026-0002',
        at: '2026-11-10T09:00:00.000Z',
        type: 'case.hold',
        actor: 'staff',
        staff: 'alice@psirt.test',
        detail: { onHold: true, reason: 'first matter' },
      },
      {
        id: 8,
        case_id: 'SEC-2026-0002',
        at: '2026-11-12T09:00:00.000Z',
        type: 'case.hold',
        actor: 'staff',
        staff: 'carol@psirt.test',
        detail: { onHold: false },
      },
      {
        id: 9,
        case_id: 'SEC-2026-0002',
        at: '2026-11-20T09:00:00.000Z',
        type: 'case.hold',
        actor: 'staff',
        staff: 'carol@psirt.test',
        detail: { onHold: true, reason: `litigation ${HOSTILE}` },
      },
    ],
  };

  it('lists the held case with its reason, since-date and who, and its hold/unhold history', () => {
    const pack = buildEvidencePack(input({ data: heldData }));
    const doc = JSON.parse(file(pack, 'evidence.json')) as {
      cases: { id: string; legalHold: unknown; holdHistory: unknown }[];
    };
    const held = doc.cases.find((c) => c.id === 'SEC-2026-0002')!;
    expect(held.legalHold).toEqual({
      reason: `litigation ${HOSTILE}`,
      since: '2026-11-20T09:00:00.000Z',
      by: 'Carol Tester',
    });
    expect(held.holdHistory).toEqual([
      { at: '2026-11-10T09:00:00.000Z', onHold: true, reason: 'first matter', by: 'staff: Alice Tester' },
      { at: '2026-11-12T09:00:00.000Z', onHold: false, reason: null, by: 'staff: Carol Tester' },
      {
        at: '2026-11-20T09:00:00.000Z',
        onHold: true,
        reason: `litigation ${HOSTILE}`,
        by: 'staff: Carol Tester',
      },
    ]);
    expect(doc.cases.find((c) => c.id === 'SEC-2026-0001')!.legalHold).toBeNull();
  });

  it('names the held cases in report.html and index.md, the staff-written reason escaped', () => {
    const pack = buildEvidencePack(input({ data: heldData }));
    const html = file(pack, 'report.html');
    expect(html).toContain('<h2 id="holds">Legal holds</h2>');
    expect(html).toContain(
      `<td>${esc(`litigation ${HOSTILE}`)}</td><td>2026-11-20T09:00:00.000Z</td><td>Carol Tester</td>`,
    );
    expect(html).toContain('2026-11-12T09:00:00.000Z released (staff: Carol Tester)');
    expect(html).not.toContain('<script>alert(1)');
    const index = file(pack, 'index.md');
    expect(index).toContain('## Cases on legal hold');
    expect(index).toMatch(
      /^- SEC-2026-0002: legal hold: litigation .*\(since 2026-11-20T09:00:00\.000Z, by Carol Tester\)$/m,
    );
    expect(index).not.toContain('<script>');
  });

  it('says so when no case is on legal hold', () => {
    const pack = buildEvidencePack(input());
    expect(file(pack, 'report.html')).toContain('<p>No case is on legal hold.</p>');
    expect(file(pack, 'index.md')).not.toContain('## Cases on legal hold');
  });
});
