/**
 * The case lifecycle (DESIGN.md): received → triage → verifying → fixing → disclosure → closed,
 * with a resolution on close and `reopen` back to triage. Pure: it answers whether a stage change
 * is allowed and why not.
 *
 * What each stage means (decided for issue #4, see docs/decisions/0003):
 *   received    nobody has acted on the report yet
 *   triage      a staff member is on it (their first authenticated command moves it here)
 *   verifying   triaged as plausible (`/triage`); being reproduced and scored
 *   fixing      verified (`/verified`); the fix deadline runs from the severity
 *   disclosure  fixed (`/fixed`); waiting for the agreed disclosure date and the advisory
 *   closed      with a resolution (`/close`, `/duplicate`)
 */
export const STAGES = ['received', 'triage', 'verifying', 'fixing', 'disclosure', 'closed'] as const;
export type Stage = (typeof STAGES)[number];

export type StageChange =
  | { kind: 'start-triage' }
  | { kind: 'triaged' }
  | { kind: 'verified' }
  | { kind: 'fixed' }
  | { kind: 'close' }
  | { kind: 'reopen' };

export type TransitionResult =
  { ok: true; from: Stage; to: Stage } | { ok: false; from: Stage; reason: string };

const ALLOWED: Record<StageChange['kind'], { from: readonly Stage[]; to: Stage }> = {
  'start-triage': { from: ['received'], to: 'triage' },
  triaged: { from: ['received', 'triage'], to: 'verifying' },
  verified: { from: ['received', 'triage', 'verifying'], to: 'fixing' },
  fixed: { from: ['fixing'], to: 'disclosure' },
  close: { from: ['received', 'triage', 'verifying', 'fixing', 'disclosure'], to: 'closed' },
  reopen: { from: ['closed'], to: 'triage' },
};

/** Whether `change` may happen in stage `from`; the reason names the stages when it may not. */
export function transition(from: Stage, change: StageChange): TransitionResult {
  const rule = ALLOWED[change.kind];
  if (rule.from.includes(from)) return { ok: true, from, to: rule.to };
  return {
    ok: false,
    from,
    reason: `the case is ${from === 'closed' ? 'closed' : `in stage ${from}`}; ${change.kind} is possible only from ${rule.from.join(', ')}`,
  };
}

/** Stages in order, for "has the case reached X" questions. */
export function stageIndex(stage: Stage): number {
  return STAGES.indexOf(stage);
}
