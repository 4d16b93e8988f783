import { createCalendar } from '../../../src/calendar/calendar.js';
import { openedState } from '../../../src/7-cases/rules/case-row.js';
import type { CaseRow } from '../../../src/7-cases/rules/case-row.js';
import type { MailFacts } from '../../../src/7-cases/rules/change.js';
import { loadConfig } from '../../../src/config/load.js';
import { parseCaseIdFormat } from '../../../src/core/case-id.js';

/** The test profile and a mail's facts, for the pure case rules (no SQLite). */
export const config = loadConfig({ env: { PSIRT_IMAP__PASSWORD: 'x', PSIRT_ENV: 'test' } });
export const calendar = createCalendar(config.calendar);
export const caseIdFormat = parseCaseIdFormat(config.cases.id_format);
export const ctx = { config, calendar, caseIdFormat };
export const AT = '2026-11-24T12:00:00.000Z';

export function mail(over: Partial<MailFacts> = {}): MailFacts {
  return {
    messageRowId: 7,
    messageId: 'm7@reporter.test',
    sender: 'reporter1@psirt.test',
    senderName: 'Reporter One',
    actor: 'reporter:reporter1@psirt.test',
    subject: 'XSS in the login form',
    sealedSubject: { subject: 'XSS in the login form', protected: false },
    flags: [],
    quarantine: false,
    failure: null,
    inReplyTo: null,
    references: [],
    verdict: null,
    now: new Date(AT),
    at: AT,
    ...over,
  };
}

/** A stored case row as SQLite returns it. */
export function caseRow(over: Partial<CaseRow> = {}): CaseRow {
  const s = openedState('SEC-2026-0001', 'reporter1@psirt.test');
  return {
    id: s.id,
    stage: 'received',
    resolution: null,
    severity: null,
    cvss_vector: null,
    cvss_score: null,
    assignee: null,
    on_hold: 0,
    hold_reason: null,
    held_at: null,
    held_by: null,
    waiting_on_reporter: 0,
    tags: '[]',
    cve: null,
    fix_by: null,
    disclose_on: null,
    advisory_url: null,
    credit: null,
    external: '[]',
    reporter_address: s.reporterAddress,
    subject: 'XSS in the login form',
    flags: '[]',
    created_at: '2026-11-24T11:00:00.000Z',
    closed_at: null,
    reopened_at: null,
    triaged_at: null,
    verified_at: null,
    fixed_at: null,
    published_at: null,
    credit_preference: null,
    credit_override_reason: null,
    draft_sent_at: null,
    no_draft_reason: null,
    advisory_sealed: null,
    ...over,
  };
}
