/**
 * The case lifecycle (DESIGN.md): received → triage → verifying → fixing → disclosure → closed,
 * with a resolution on close and `reopen` back to triage. Pure: it answers whether a stage change
 * is allowed and why not; the store applies it (issue #4 wires the staff commands to it).
 */
export const STAGES = ['received', 'triage', 'verifying', 'fixing', 'disclosure', 'closed'] as const;
export type Stage = (typeof STAGES)[number];

export type StageChange =
  | { kind: 'triage' }
  | { kind: 'start-verifying' }
  | { kind: 'verified' }
  | { kind: 'fixed' }
  | { kind: 'close' }
  | { kind: 'reopen' };

export type TransitionResult =
  { ok: true; from: Stage; to: Stage } | { ok: false; from: Stage; reason: string };

const ALLOWED: Record<StageChange['kind'], { from: readonly Stage[]; to: Stage }> = {
  triage: { from: ['received'], to: 'triage' },
  'start-verifying': { from: ['received', 'triage'], to: 'verifying' },
  verified: { from: ['triage', 'verifying'], to: 'fixing' },
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
    reason: `${change.kind} is not possible in stage ${from} (only from ${rule.from.join(', ')})`,
  };
}
