import { describe, expect, it } from 'vitest';
import { parseCommands } from '../../../src/6-commands/grammar.js';
import { helpText, planCommands, type CaseState, type PlanContext } from '../../../src/6-commands/plan.js';
import { loadConfig } from '../../../src/config/load.js';
import { parseCaseIdFormat } from '../../../src/core/case-id.js';
import { EMPTY_ADVISORY } from '../../../src/advisory/model.js';

const config = loadConfig({ env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'x' } });
const pattern = parseCaseIdFormat(config.cases.id_format).pattern;
const member = (local: string) => config.staff.find((s) => s.address.startsWith(`${local}@`))!;

const fresh: CaseState = {
  id: 'SEC-2026-0007',
  stage: 'received',
  resolution: null,
  severity: null,
  cvssVector: null,
  cvssScore: null,
  assignee: null,
  onHold: false,
  holdReason: null,
  heldAt: null,
  heldBy: null,
  waitingOnReporter: false,
  tags: [],
  cve: null,
  fixBy: null,
  discloseOn: null,
  advisoryUrl: null,
  credit: null,
  external: [],
  reporterAddress: 'reporter1@psirt.test',
  closedAt: null,
  reopenedAt: null,
  triagedAt: null,
  verifiedAt: null,
  fixedAt: null,
  publishedAt: null,
  advisory: EMPTY_ADVISORY,
  creditPreference: null,
  creditOverrideReason: null,
  draftSentAt: null,
  noDraftReason: null,
  revisions: 0,
};

function plan(
  subject: string,
  opts: { by?: string; state?: Partial<CaseState>; ctx?: Partial<PlanContext> } = {},
) {
  return planCommands({ ...fresh, ...opts.state }, parseCommands(subject, pattern), {
    now: '2026-11-24T12:00:00.000Z',
    today: '2026-11-24',
    acknowledgment: 'mailed',
    actor: member(opts.by ?? 'alice'),
    staff: config.staff,
    raci: config.raci,
    products: config.products.map((p) => p.id),
    statusEvents: config.status_mails.events,
    caseExists: (id) => id === 'SEC-2026-0001',
    ownText: 'We reproduced it.',
    ...opts.ctx,
  });
}

describe('planCommands()', () => {
  it('applies the issue example: assigns bob, scores 9.8 critical, and the case enters triage', () => {
    const p = plan('Re: [SEC-2026-0007] x /assign bob /cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H');
    expect(p.outcomes.map((o) => [o.text, o.applied])).toEqual([
      ['/assign bob', true],
      ['/cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', true],
    ]);
    expect(p.final).toMatchObject({
      assignee: 'bob@psirt.test',
      severity: 'critical',
      cvssScore: 9.8,
      stage: 'triage',
    });
    expect(p.assigned).toBe('bob@psirt.test');
    expect(p.events.map((e) => e.type)).toEqual(['case.assigned', 'case.severity-set', 'case.stage-changed']);
    expect(p.statusMails).toEqual([]);
  });

  it('walks triage → verifying → fixing → disclosure → published → closed, mailing each status', () => {
    let s = { ...fresh };
    const steps = [
      '/triage',
      '/verified',
      '/fixed',
      '/no-draft "the reporter is anonymous"',
      '/publish https://example.org/adv/1',
      '/close fixed',
    ];
    const mails: string[] = [];
    for (const cmd of steps) {
      const p = plan(`[SEC-2026-0007] ${cmd}`, { by: cmd === '/fixed' ? 'bob' : 'carol', state: s });
      expect(
        p.outcomes.every((o) => o.applied),
        JSON.stringify(p.outcomes),
      ).toBe(true);
      mails.push(...p.statusMails);
      s = p.final;
    }
    expect(s).toMatchObject({
      stage: 'closed',
      resolution: 'fixed',
      advisoryUrl: 'https://example.org/adv/1',
    });
    expect(mails).toEqual(['triaged', 'verified', 'fixed', 'published', 'closed-fixed']);
  });

  it('refuses /publish until a draft went to the reporter or the case says why none could (#14)', () => {
    const state = { stage: 'disclosure' as const };
    const refused = plan('/publish https://example.org/adv/1', { by: 'carol', state });
    expect(refused.outcomes[0]).toMatchObject({ applied: false });
    expect(refused.outcomes[0]!.detail).toMatch(/\/draft sends it/);
    expect(refused.final.publishedAt).toBeNull();
    expect(refused.revision).toBeNull();
    const drafted = plan('/publish https://example.org/adv/1', {
      by: 'carol',
      state: { ...state, draftSentAt: '2026-11-20T10:00:00.000Z' },
    });
    expect(drafted.outcomes[0]).toMatchObject({ applied: true });
    expect(drafted.revision).toEqual({ number: 1, summary: 'Initial public release' });
  });

  it('records advisory commands, applied or rejected, without the unpublished flaw they describe (#14 review)', () => {
    const longTitle = `Unauthenticated RCE via crafted DHCP option ${'x'.repeat(200)}`;
    const p = plan(
      '/affects acme-router <2.4.1 /fixed-in acme-router 2.4.1 /cwe CWE-79 ' +
        '/ref https://git.example/acme/router/commit/deadbeef-fix-login-xss ' +
        `/title "${longTitle}" /affects acme-router >2.0`,
      { by: 'carol', state: { stage: 'fixing' } },
    );
    // What is stored in clear: the outcomes (confirmation payload) and the events.
    const clear = JSON.stringify([p.outcomes, p.events]);
    for (const secret of ['CWE-79', '2.4.1', 'deadbeef', 'Unauthenticated RCE', '>2.0'])
      expect(clear, secret).not.toContain(secret);
    expect(p.outcomes.filter((o) => o.applied)).toHaveLength(4);
    expect(p.outcomes.filter((o) => !o.applied).map((o) => o.text)).toEqual([
      `/title (${longTitle.length} characters)`,
      '/affects (16 characters)',
    ]);
    // The fields themselves are set (and sealed by the store).
    expect(p.final.advisory.cwe).toBe('CWE-79');
    expect(p.final.advisory.affected).toEqual([
      { product: 'acme-router', range: expect.objectContaining({ fixed: '2.4.1' }) },
    ]);
  });

  it("rejects a command outside the sender's RACI roles, naming the roles", () => {
    const p = plan('/cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', { by: 'bob' });
    expect(p.outcomes[0]).toMatchObject({ applied: false });
    expect(p.outcomes[0]!.detail).toMatch(/needs the role security or manager; you have developer/);
    expect(p.final.severity).toBeNull();
    expect(p.final.stage).toBe('received');
  });

  it('rejects an illegal transition with the reason and still applies the valid commands', () => {
    const p = plan('/fixed /tag firmware', { by: 'carol' });
    expect(p.outcomes).toEqual([
      {
        text: '/fixed',
        applied: false,
        detail: 'the case is in stage received; fixed is possible only from fixing',
      },
      { text: '/tag firmware', applied: true, detail: 'tagged firmware' },
    ]);
    expect(p.final.tags).toEqual(['firmware']);
  });

  it("keeps the parser's rejections in the outcomes", () => {
    const p = plan('/severity urgent /frobnicate');
    expect(p.outcomes.map((o) => o.detail)).toEqual([
      'expects one of critical, high, medium, low, none',
      'unknown command (see /help)',
    ]);
  });

  it('closes as a duplicate of an existing case, linking it, and refuses an unknown one', () => {
    const ok = plan('/duplicate SEC-2026-0001');
    expect(ok.final).toMatchObject({ stage: 'closed', resolution: 'duplicate' });
    expect(ok.links).toEqual([{ otherId: 'SEC-2026-0001', kind: 'duplicate-of' }]);
    expect(ok.statusMails).toEqual(['closed-duplicate']);
    const missing = plan('/duplicate SEC-2026-0099');
    expect(missing.outcomes[0]).toMatchObject({ applied: false, detail: 'there is no case SEC-2026-0099' });
    expect(missing.final.stage).toBe('received');
  });

  it('allows only a few commands on a closed case, and reopens it with fresh stage dates', () => {
    const closed = {
      stage: 'closed' as const,
      resolution: 'invalid' as const,
      closedAt: 'x',
      triagedAt: 'y',
    };
    expect(plan('/severity high', { state: closed }).outcomes[0]).toMatchObject({
      applied: false,
      detail: 'the case is closed (/reopen it first)',
    });
    const p = plan('/reopen /severity high', { state: closed });
    expect(p.final).toMatchObject({
      stage: 'triage',
      resolution: null,
      closedAt: null,
      triagedAt: null,
      severity: 'high',
    });
    expect(p.final.reopenedAt).toBe('2026-11-24T12:00:00.000Z');
  });

  it('refuses agreed dates in the past and an empty /reply', () => {
    expect(plan('/fix-by 2026-11-23').outcomes[0]!.detail).toBe(
      '2026-11-23 is in the past (today is 2026-11-24)',
    );
    expect(plan('/reply', { ctx: { ownText: '' } }).outcomes[0]).toMatchObject({ applied: false });
    const r = plan('/reply');
    expect(r.reply).toBe(true);
  });

  it('/ack sends a held acknowledgment once, and refuses when none was held (issue #10)', () => {
    const held = plan('/ack', { ctx: { acknowledgment: 'held' } });
    expect(held.ack).toBe(true);
    expect(held.outcomes).toEqual([expect.objectContaining({ text: '/ack', applied: true })]);
    expect(held.events).toContainEqual({ type: 'acknowledgment.queued', data: { by: 'command' } });
    expect(plan('/ack /ack', { ctx: { acknowledgment: 'held' } }).outcomes.map((o) => o.applied)).toEqual([
      true,
      false,
    ]);
    expect(plan('/ack').outcomes[0]).toMatchObject({
      applied: false,
      detail: 'the reporter was acknowledged already',
    });
    expect(plan('/ack', { ctx: { acknowledgment: 'none' } }).ack).toBe(false);
    expect(plan('/ack', { by: 'bob', ctx: { acknowledgment: 'held' } }).ack).toBe(false);
  });

  it('mails only the status events enabled in config', () => {
    expect(plan('/close spam').statusMails).toEqual([]);
    expect(plan('/close spam', { ctx: { statusEvents: ['closed-spam'] } }).statusMails).toEqual([
      'closed-spam',
    ]);
  });

  it('treats /help and /note as changing nothing (no implicit triage)', () => {
    const p = plan('/help /note', { by: 'bob' });
    expect(p.help).toBe(true);
    expect(p.final.stage).toBe('received');
    expect(p.events).toEqual([]);
  });
});

describe('helpText()', () => {
  it('marks the commands the member may not run', () => {
    const text = helpText(config.raci, member('bob'));
    expect(text).toMatch(/^ {2}\/fixed /m);
    expect(text).toMatch(/^- \/cvss /m);
  });
});

describe('/hold and /unhold (issue #13: legal hold)', () => {
  const NOW = '2026-11-24T12:00:00.000Z';
  const held = {
    onHold: true,
    holdReason: 'litigation 2026-14',
    heldAt: '2026-11-20T09:00:00.000Z',
    heldBy: 'carol@psirt.test',
  } satisfies Partial<CaseState>;

  it('records the reason, the time and the staff member on the case and in the case.hold event', () => {
    const p = plan('Re: [SEC-2026-0007] x /hold "litigation 2026-14"', { state: { stage: 'triage' } });
    expect(p.outcomes).toEqual([
      {
        text: '/hold "litigation 2026-14"',
        applied: true,
        detail: expect.stringContaining('on legal hold: litigation 2026-14'),
      },
    ]);
    expect(p.final).toMatchObject({
      onHold: true,
      holdReason: 'litigation 2026-14',
      heldAt: NOW,
      heldBy: 'alice@psirt.test',
    });
    expect(p.events).toEqual([
      {
        type: 'case.hold',
        data: { onHold: true, reason: 'litigation 2026-14', heldAt: NOW, heldBy: 'alice@psirt.test' },
      },
    ]);
  });

  it('/unhold clears the reason columns and records who released it and when', () => {
    const p = plan('Re: [SEC-2026-0007] x /unhold', { by: 'carol', state: { stage: 'triage', ...held } });
    expect(p.outcomes[0]).toMatchObject({
      applied: true,
      detail: expect.stringContaining('legal hold released'),
    });
    expect(p.final).toMatchObject({ onHold: false, holdReason: null, heldAt: null, heldBy: null });
    expect(p.events).toEqual([
      { type: 'case.hold', data: { onHold: false, releasedAt: NOW, releasedBy: 'carol@psirt.test' } },
    ]);
  });

  it('keeps the reason of a case already held: the same reason changes nothing, another is refused', () => {
    const same = plan('Re: [SEC-2026-0007] x /hold "litigation 2026-14"', {
      state: { stage: 'triage', ...held },
    });
    expect(same.outcomes[0]).toMatchObject({
      applied: true,
      detail: 'already on legal hold: litigation 2026-14',
    });
    expect(same.events).toEqual([]);
    const other = plan('Re: [SEC-2026-0007] x /hold "another matter"', {
      state: { stage: 'triage', ...held },
    });
    expect(other.outcomes[0]).toMatchObject({
      applied: false,
      detail: expect.stringContaining('/unhold first to record another reason'),
    });
    expect(other.final).toMatchObject(held);
    expect(other.events).toEqual([]);
  });

  it('records a reason for a case held before #13 without one', () => {
    const p = plan('Re: [SEC-2026-0007] x /hold subpoena', { state: { stage: 'triage', onHold: true } });
    expect(p.final).toMatchObject({ onHold: true, holdReason: 'subpoena', heldBy: 'alice@psirt.test' });
    expect(p.events.map((e) => e.type)).toEqual(['case.hold']);
  });

  it('holds a closed case (the retention purge would reach it)', () => {
    const p = plan('Re: [SEC-2026-0007] x /hold "audit 2027"', {
      state: { stage: 'closed', resolution: 'fixed', closedAt: '2026-11-01T00:00:00.000Z' },
    });
    expect(p.outcomes[0]?.applied).toBe(true);
    expect(p.final).toMatchObject({ stage: 'closed', onHold: true, holdReason: 'audit 2027' });
  });

  it('lets only the roles of the activity that names legal hold run /hold and /unhold', () => {
    for (const subject of ['/hold "litigation"', '/unhold']) {
      const p = plan(`Re: [SEC-2026-0007] x ${subject}`, { by: 'bob', state: { stage: 'triage', ...held } });
      expect(p.outcomes[0], subject).toMatchObject({
        applied: false,
        detail: expect.stringContaining(
          '(Closing, reopening and legal hold) needs the role security or legal or manager',
        ),
      });
      expect(p.events, subject).toEqual([]);
    }
  });
});
