import { EMPTY_ADVISORY } from '../../../src/advisory/model.js';
import { describe, expect, it } from 'vitest';
import { startChange } from '../../../src/7-cases/rules/change.js';
import {
  decideStaffMail,
  refusalOf,
  staffTarget,
  type StaffFacts,
} from '../../../src/7-cases/rules/staff-mail.js';
import type { StaffCaseFacts } from '../../../src/7-cases/rules/staff-commands.js';
import { parseCommands } from '../../../src/6-commands/grammar.js';
import type { StaffMailInput } from '../../../src/6-commands/prepare.js';
import { AT, calendar, caseIdFormat, caseRow, config, mail } from './rules-support.js';

const alice = config.staff.find((s) => s.address.startsWith('alice@'))!;
const staffMail = mail({
  sender: alice.address,
  actor: `unverified:${alice.address}`,
  messageId: 'cmd@staff.test',
  subject: 'Re: [SEC-2026-0001] XSS',
});
const ctx = { config, calendar, caseIdPattern: caseIdFormat.pattern };
const ok = { ok: true, method: 'pgp', label: 'pgp:ALICE', digest: 'd1' } as const;

function input(subject: string, over: Partial<StaffMailInput> = {}): StaffMailInput {
  return {
    member: alice,
    auth: ok,
    parsed: parseCommands(subject, caseIdFormat.pattern),
    namesCase: subject.includes('[SEC-'),
    ownText: 'Thanks, we are on it.',
    tampered: null,
    ...over,
  };
}
const caseFacts = (over: Partial<StaffCaseFacts> = {}): StaffCaseFacts => ({
  row: caseRow(),
  flags: [],
  acknowledgment: 'mailed',
  existingCases: new Set(),
  reportRowId: 1,
  advisory: EMPTY_ADVISORY,
  revisionHistory: [],
  drafts: 0,
  draftChannel: 'encrypted',
  customers: { told: [], latestRevisionProducts: [] },
  reporterThread: ['r1@x', 'sec-2026-0001.acknowledgment.abc@psirt.test'],
  deadlines: [{ kind: 'acknowledge', due_at: AT, state: 'met' }],
  pauses: [],
  duplicateLinks: [],
  ...over,
});
const facts = (over: Partial<StaffFacts> = {}): StaffFacts => ({
  rejectionsLastHour: 0,
  signatureUsedBy: null,
  case: caseFacts(),
  ...over,
});

function decide(i: StaffMailInput, f: StaffFacts, threaded: string | null = 'SEC-2026-0001') {
  const change = startChange(staffMail);
  decideStaffMail(change, staffMail, threaded, i, f, ctx);
  return change;
}

describe('staff mail: who may command, and which case', () => {
  it('applies commands only to the case the authenticated subject names', () => {
    expect(staffTarget('SEC-2026-0001', input('Re: XSS /triage'))).toBeNull();
    expect(staffTarget('SEC-2026-0001', input('Re: XSS no commands'))).toBe('SEC-2026-0001');
    expect(staffTarget('SEC-2026-0002', input('Re: [SEC-2026-0001] /triage'))).toBe('SEC-2026-0002');
  });

  it('refuses unauthenticated, then tampered, then replayed mail, in that order', () => {
    expect(refusalOf(input('x', { auth: { ok: false, reason: 'no signature' }, tampered: 't' }), 3)).toEqual({
      type: 'staff.unauthenticated',
      reason: 'no signature',
    });
    expect(refusalOf(input('x', { tampered: 'changed' }), 3)).toEqual({
      type: 'staff.tampered',
      reason: 'changed',
    });
    expect(refusalOf(input('x'), 3)?.type).toBe('staff.replay');
    expect(refusalOf(input('x'), null)).toBeNull();
  });

  it('answers a refused command mail, rate-limited per hour, and changes nothing', () => {
    const i = input('Re: [SEC-2026-0001] /close invalid', { auth: { ok: false, reason: 'no signature' } });
    const answered = decide(i, facts({ case: null }));
    expect(answered.events.map((e) => e.type)).toEqual(['staff.unauthenticated']);
    expect(answered.outbox.map((o) => [o.kind, o.subject])).toEqual([
      ['command-rejected', '[SEC-2026-0001] Commands NOT applied: your mail was not authenticated'],
    ]);
    expect(answered.caseWrites).toBeNull();
    expect(answered.signature).toBeNull();
    const limited = decide(
      i,
      facts({ case: null, rejectionsLastHour: config.commands.max_rejections_per_hour }),
    );
    expect(limited.events.map((e) => [e.type, e.actor])).toEqual([
      ['staff.unauthenticated', `unverified:${alice.address}`],
      ['staff.rejection-rate-limited', 'system'],
    ]);
    expect(limited.outbox).toEqual([]);
  });
});

describe('staff mail: the lifecycle through commands', () => {
  it('plans /triage /assign, uses up the signature, re-derives deadlines and confirms on the thread', () => {
    const c = decide(input('Re: [SEC-2026-0001] XSS /triage /assign bob'), facts());
    expect(c.signature).toEqual({ digest: 'd1', method: 'pgp', staff: alice.address });
    expect(c.caseWrites?.state).toMatchObject({ stage: 'verifying', triagedAt: AT });
    expect(c.events.map((e) => e.type)).toEqual(['case.stage-changed', 'case.assigned', 'case.note']);
    expect(c.events[0]).toMatchObject({ actor: `staff:${alice.address}`, auth: 'pgp:ALICE' });
    expect(c.deadlines?.upserts[0]).toMatchObject({ kind: 'triage', state: 'met', metAt: AT });
    expect(c.outbox.map((o) => o.kind)).toEqual(['command-confirmation', 'assignment', 'reporter-status']);
    expect(c.outbox[0]).toMatchObject({ inReplyTo: 'cmd@staff.test', references: ['cmd@staff.test'] });
    expect(c.outbox[0]?.payload).toMatchObject({
      snapshot: { stage: 'verifying', assignee: expect.stringMatching(/^bob@/) },
    });
    // The status mail threads on the reporter's thread, after rows of this change before it.
    expect(c.outbox[2]?.reporterThread).toEqual(['r1@x', 'sec-2026-0001.acknowledgment.abc@psirt.test']);
  });

  it('/ack reopens the cancelled acknowledge deadline and sends the held acknowledgment with the report', () => {
    const f = caseFacts({
      acknowledgment: 'held',
      flags: ['corrupt'],
      reportRowId: 2,
      deadlines: [{ kind: 'acknowledge', due_at: AT, state: 'cancelled' }],
    });
    const c = decide(input('Re: [SEC-2026-0001] XSS /ack'), facts({ case: f }));
    expect(c.acknowledge).toEqual({ effect: 'reopen', caseId: 'SEC-2026-0001' });
    expect(c.deadlines?.after.find((d) => d.kind === 'acknowledge')?.state).toBe('open');
    const ack = c.outbox.find((o) => o.kind === 'acknowledgment');
    expect(ack).toMatchObject({
      dedupeKey: 'ack-command:SEC-2026-0001',
      recipients: ['reporter1@psirt.test'],
    });
    expect(ack?.payload).toEqual({
      template: 'acknowledgment',
      messageRowId: 2,
      autoSubmitted: 'auto-replied',
      flags: ['corrupt'],
    });
  });

  it('/pause stops the clock from now; /hold stops the escalation steps', () => {
    const paused = decide(input('Re: [SEC-2026-0001] XSS /pause'), facts());
    expect(paused.deadlines?.upserts.map((d) => d.state)).toEqual(['paused', 'paused']);
    const held = decide(input('Re: [SEC-2026-0001] XSS /hold "litigation 2026-14"'), facts());
    expect(held.deadlines?.escalations.every((e) => e.state === 'stopped')).toBe(true);
  });

  it('/duplicate closes the case, links it and names it in the snapshot', () => {
    const f = caseFacts({ existingCases: new Set(['SEC-2026-0002']) });
    const c = decide(input('Re: [SEC-2026-0001] XSS /duplicate SEC-2026-0002'), facts({ case: f }));
    expect(c.links).toEqual([{ caseId: 'SEC-2026-0001', otherId: 'SEC-2026-0002', kind: 'duplicate-of' }]);
    expect(c.deadlines?.cancel).toContain('acknowledge');
    expect(c.outbox[0]?.payload).toMatchObject({
      snapshot: { stage: 'closed', resolution: 'duplicate', duplicateOf: 'SEC-2026-0002' },
    });
  });

  it('answers commands without a case with the reason, and /help still helps', () => {
    const c = decide(input('Re: XSS /triage /help'), facts({ case: null }), 'SEC-2026-0001');
    expect(c.events.map((e) => e.type)).toEqual(['staff.mail-unthreaded']);
    expect(c.outbox[0]).toMatchObject({
      caseId: null,
      kind: 'command-confirmation',
      subject: 'Re: Re: [SEC-2026-0001] XSS',
    });
    expect(c.outbox[0]?.payload).toMatchObject({
      help: true,
      outcomes: [
        { text: '/triage', applied: false },
        { text: '/help', applied: true },
      ],
    });
  });
});

describe('staff mail: the advisory draft to the reporter (#14)', () => {
  const titled = { ...EMPTY_ADVISORY, title: 'XSS in the login form', summary: 'A reflected XSS.' };

  it('/draft freezes draft n+1 and mails it on the reporter thread, naming the version only', () => {
    const c = decide(
      input('Re: [SEC-2026-0001] XSS /draft'),
      facts({ case: caseFacts({ advisory: titled, drafts: 1 }) }),
    );
    expect(c.versions).toHaveLength(1);
    expect(c.versions[0]).toMatchObject({ kind: 'draft', number: 2, by: alice.address });
    expect(c.versions[0]?.snapshot).toMatchObject({
      status: 'draft',
      version: 2,
      fields: { title: titled.title },
    });
    const draft = c.outbox.find((o) => o.kind === 'advisory-draft');
    expect(draft).toMatchObject({
      recipients: ['reporter1@psirt.test'],
      reporterThread: ['r1@x', 'sec-2026-0001.acknowledgment.abc@psirt.test'],
      dedupeKey: 'draft:SEC-2026-0001:2',
      payload: { template: 'advisory-draft', draft: 2, autoSubmitted: 'no' },
    });
    // Payloads are stored in clear: no advisory text in them.
    expect(JSON.stringify(draft?.payload)).not.toContain('XSS');
    expect(c.caseWrites?.state).toMatchObject({ draftSentAt: AT });
    expect(c.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['advisory.draft-queued', 'advisory.draft-sent']),
    );
    expect(c.outbox[0]?.payload).toMatchObject({
      outcomes: [{ applied: true, detail: expect.stringMatching(/encrypted to their pinned key/) }],
    });
  });

  it('a reporter who wrote in clear and has no key gets it signed, and the confirmation says so', () => {
    const c = decide(
      input('Re: [SEC-2026-0001] XSS /draft'),
      facts({ case: caseFacts({ advisory: titled, draftChannel: 'clear-report' }) }),
    );
    expect(c.outbox.map((o) => o.kind)).toContain('advisory-draft');
    expect(c.outbox[0]?.payload).toMatchObject({
      outcomes: [{ applied: true, detail: expect.stringMatching(/NOT encrypted/) }],
    });
  });

  it('refuses /draft when it would go in clear to a reporter who wrote encrypted', () => {
    const c = decide(
      input('Re: [SEC-2026-0001] XSS /draft'),
      facts({ case: caseFacts({ advisory: titled, draftChannel: 'no-key' }) }),
    );
    expect(c.outbox.map((o) => o.kind)).not.toContain('advisory-draft');
    expect(c.versions).toEqual([]);
    expect(c.caseWrites?.state).toMatchObject({ draftSentAt: null });
    expect(c.outbox[0]?.payload).toMatchObject({
      outcomes: [{ applied: false, detail: expect.stringMatching(/not mailed in clear/) }],
    });
  });

  it('writes the advisory fields only when a command changed them', () => {
    const set = decide(input('Re: [SEC-2026-0001] XSS /cwe CWE-79'), facts());
    expect(set.caseWrites?.advisory).toMatchObject({ cwe: 'CWE-79' });
    const none = decide(input('Re: [SEC-2026-0001] XSS /severity high'), facts());
    expect(none.caseWrites?.advisory).toBeUndefined();
  });
});
