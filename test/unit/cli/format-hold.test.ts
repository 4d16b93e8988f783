import { describe, expect, it } from 'vitest';
import { formatCaseList, legalHold } from '../../../src/cli/format.js';
import { createCalendar } from '../../../src/calendar/calendar.js';
import { loadConfig } from '../../../src/config/load.js';
import type { CaseListRow } from '../../../src/7-cases/queries.js';

const config = loadConfig({ env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'x' } });

describe('the legal hold in psirt cases show|list (issue #13)', () => {
  it('shows the reason, since when and by whom; a hold older than #13 says none was recorded', () => {
    expect(
      legalHold({
        on_hold: true,
        hold_reason: 'litigation 2026-14',
        held_at: '2026-11-20T09:00:00.000Z',
        held_by: 'carol@psirt.test',
      }),
    ).toBe('legal hold: litigation 2026-14 (since 2026-11-20T09:00:00.000Z, by carol@psirt.test)');
    expect(legalHold({ on_hold: true, hold_reason: null, held_at: null, held_by: null })).toBe(
      'legal hold: (no reason recorded)',
    );
    expect(legalHold({ on_hold: false, hold_reason: null })).toBeNull();
  });

  it('marks a held case in the list', () => {
    const row: CaseListRow = {
      id: 'SEC-2026-0001',
      stage: 'closed',
      resolution: 'fixed',
      severity: null,
      reporter_address: 'r@x',
      subject: 's',
      subject_sealed: null,
      flags: [],
      assignee: null,
      on_hold: true,
      hold_reason: 'litigation',
      held_at: '2026-11-20T09:00:00.000Z',
      created_at: '2026-11-01T09:00:00.000Z',
      next_deadline: null,
      historical: false,
      waiting_on_reporter: false,
    };
    const text = formatCaseList([row], new Date('2026-12-01T12:00:00Z'), createCalendar(config.calendar));
    expect(text).toContain('closed/fixed (legal hold)');
  });
});
