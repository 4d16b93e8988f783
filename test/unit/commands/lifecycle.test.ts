import { describe, expect, it } from 'vitest';
import { STAGES, transition, type Stage, type StageChange } from '../../../src/6-commands/lifecycle.js';

describe('transition()', () => {
  it('walks the whole lifecycle received → triage → verifying → fixing → disclosure → closed', () => {
    const steps: StageChange['kind'][] = ['start-triage', 'triaged', 'verified', 'fixed', 'close'];
    let stage: Stage = 'received';
    for (const kind of steps) {
      const r = transition(stage, { kind });
      expect(r.ok).toBe(true);
      if (r.ok) stage = r.to;
    }
    expect(stage).toBe('closed');
  });

  it('reopens a closed case into triage', () => {
    expect(transition('closed', { kind: 'reopen' })).toEqual({ ok: true, from: 'closed', to: 'triage' });
  });

  it('refuses an illegal transition with the reason', () => {
    expect(transition('received', { kind: 'fixed' })).toEqual({
      ok: false,
      from: 'received',
      reason: 'the case is in stage received; fixed is possible only from fixing',
    });
  });

  it('never leaves closed except by reopen', () => {
    const kinds: StageChange['kind'][] = ['start-triage', 'triaged', 'verified', 'fixed', 'close'];
    for (const kind of kinds) expect(transition('closed', { kind }).ok).toBe(false);
  });

  it('lets /verified skip triage, but nothing skips fixing', () => {
    expect(transition('received', { kind: 'verified' })).toMatchObject({ ok: true, to: 'fixing' });
    expect(transition('verifying', { kind: 'fixed' }).ok).toBe(false);
  });

  it('allows close from every open stage', () => {
    for (const stage of STAGES.filter((s) => s !== 'closed'))
      expect(transition(stage, { kind: 'close' }).ok).toBe(true);
  });
});
