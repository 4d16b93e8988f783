import type { CommandPlan } from '../../6-commands/plan.js';
import type { RevisionEntry } from '../../advisory/model.js';
import { freezeSnapshot } from '../../advisory/snapshot.js';
import type { CaseChange, MailFacts } from './change.js';

/**
 * What a staff mail's advisory commands write (issue #14): the sealed fields when a command
 * changed them, and the versions to freeze — the revision `/publish` or `/revise` made, the
 * draft `/draft` sends. Pure.
 */
export function advisoryWrites(
  change: CaseChange,
  mail: Pick<MailFacts, 'at'>,
  caseId: string,
  plan: CommandPlan,
  f: { createdAt: string; revisionHistory: readonly RevisionEntry[]; drafts: number },
  by: string,
): void {
  if (plan.events.some((e) => e.type === 'advisory.updated') && change.caseWrites !== null)
    change.caseWrites.advisory = plan.final.advisory;
  let history = [...f.revisionHistory];
  if (plan.revision !== null) {
    const revision = { number: plan.revision.number, date: mail.at, summary: plan.revision.summary };
    change.versions.push({
      caseId,
      kind: 'revision',
      number: revision.number,
      by,
      summary: revision.summary,
      snapshot: freezeSnapshot(plan.final, {
        reportedAt: f.createdAt,
        status: 'final',
        version: revision.number,
        history,
        revision,
        at: mail.at,
      }),
    });
    history = [...history, revision];
  }
  if (plan.draft) {
    const number = f.drafts + 1;
    change.versions.push({
      caseId,
      kind: 'draft',
      number,
      by,
      summary: '',
      snapshot: freezeSnapshot(plan.final, {
        reportedAt: f.createdAt,
        status: 'draft',
        version: number,
        history,
        at: mail.at,
      }),
    });
  }
}
