import type { Resolution, StaffCommand } from './grammar.js';
import { scoreCvss } from './cvss.js';
import type { StaffMember } from '../config/schema.js';
import { assertNever } from '../core/errors.js';
import { staffByAddress } from '../core/staff.js';
import { transition, type StageChange } from './lifecycle.js';
import { applyAdvisory, applyCredit } from './advisory-commands.js';
import { refuse, Refused, type Of, type Work } from './work.js';

export { Refused, type Work } from './work.js';

/** Moves the case along its lifecycle; returns why not, or null. */
export function move(w: Work, change: StageChange, command: string): string | null {
  const t = transition(w.s.stage, change);
  if (!t.ok) return t.reason;
  w.events.push({ type: 'case.stage-changed', data: { from: t.from, to: t.to, command } });
  w.s.stage = t.to;
  return null;
}

const futureDate = (w: Work, date: string): string | null =>
  date < w.ctx.today ? `${date} is in the past (today is ${w.ctx.today})` : null;

function close(w: Work, resolution: Resolution, duplicateOf: string | null): void {
  const s = w.s;
  w.events.push({ type: 'case.closed', data: { resolution, duplicateOf } });
  s.resolution = resolution;
  s.closedAt = w.ctx.now;
  s.waitingOnReporter = false;
  w.status.push(`closed-${resolution}`);
}

/** Applies one command; returns what happened, or why it was refused. */
export function applyCommand(w: Work, c: StaffCommand, text: string): string | Refused {
  switch (c.name) {
    case 'triage':
    case 'verified':
    case 'fixed':
    case 'duplicate':
    case 'close':
    case 'reopen':
    case 'publish':
      return applyLifecycle(w, c, text);
    case 'assign':
    case 'severity':
    case 'cvss':
    case 'fix-by':
    case 'disclose':
    case 'cve':
      return applyField(w, c);
    case 'help':
    case 'note':
    case 'reply':
    case 'ack':
    case 'tag':
    case 'external':
    case 'link':
    case 'hold':
    case 'unhold':
    case 'pause':
      return applyOther(w, c);
    case 'credit':
    case 'credit-override':
      return applyCredit(w, c);
    case 'title':
    case 'summary':
    case 'cwe':
    case 'affects':
    case 'fixed-in':
    case 'ref':
    case 'draft':
    case 'no-draft':
    case 'revise':
    case 'notify':
      return applyAdvisory(w, c);
    default:
      return assertNever(c);
  }
}

function applyLifecycle(
  w: Work,
  c: Of<'triage' | 'verified' | 'fixed' | 'duplicate' | 'close' | 'reopen' | 'publish'>,
  text: string,
): string | Refused {
  const { s, ctx } = w;
  switch (c.name) {
    case 'triage': {
      const why = move(w, { kind: 'triaged' }, text);
      if (why !== null) return refuse(why);
      s.triagedAt = ctx.now;
      w.status.push('triaged');
      return 'triaged; the case is now verifying';
    }
    case 'verified': {
      const why = move(w, { kind: 'verified' }, text);
      if (why !== null) return refuse(why);
      s.verifiedAt = ctx.now;
      s.triagedAt ??= ctx.now;
      w.status.push('verified');
      return s.severity === null
        ? 'verified; the case is now fixing (no severity yet: set /cvss or /severity for a fix deadline)'
        : `verified; the case is now fixing (severity ${s.severity})`;
    }
    case 'fixed': {
      const why = move(w, { kind: 'fixed' }, text);
      if (why !== null) return refuse(why);
      s.fixedAt = ctx.now;
      w.status.push('fixed');
      return 'fixed; the case is now in disclosure';
    }
    case 'duplicate': {
      if (c.caseId === s.id) return refuse('a case cannot duplicate itself');
      if (!ctx.caseExists(c.caseId)) return refuse(`there is no case ${c.caseId}`);
      const why = move(w, { kind: 'close' }, text);
      if (why !== null) return refuse(why);
      w.links.push({ otherId: c.caseId, kind: 'duplicate-of' });
      close(w, 'duplicate', c.caseId);
      return `closed as a duplicate of ${c.caseId}`;
    }
    case 'close': {
      const why = move(w, { kind: 'close' }, text);
      if (why !== null) return refuse(why);
      close(w, c.resolution, null);
      return `closed (${c.resolution})`;
    }
    case 'reopen': {
      const why = move(w, { kind: 'reopen' }, text);
      if (why !== null) return refuse(why);
      w.events.push({ type: 'case.reopened', data: { resolution: s.resolution } });
      s.resolution = null;
      s.closedAt = null;
      s.reopenedAt = ctx.now;
      s.triagedAt = null;
      s.verifiedAt = null;
      s.fixedAt = null;
      s.publishedAt = null;
      return 'reopened; the case is back in triage and its deadlines start again';
    }
    case 'publish': {
      if (s.stage !== 'disclosure') {
        return refuse(`the case is in stage ${s.stage}; /publish comes after /fixed (stage disclosure)`);
      }
      // Issue #14: the reporter sees the advisory before the world does.
      if (s.draftSentAt === null && s.noDraftReason === null) {
        return refuse(
          'no draft went to the reporter: /draft sends it (or /no-draft "<reason>" records why none can go)',
        );
      }
      const first = s.revisions === 0;
      w.events.push({ type: 'case.published', data: { url: c.url, cve: s.cve } });
      s.advisoryUrl = c.url;
      s.publishedAt ??= ctx.now;
      if (first) {
        s.revisions = 1;
        w.revision = { number: 1, summary: 'Initial public release' };
        w.events.push({ type: 'advisory.revised', data: { revision: 1 } });
      }
      w.status.push('published');
      return first ? `published at ${c.url} (revision 1)` : `the advisory address is now ${c.url}`;
    }
    default:
      return assertNever(c);
  }
}

function applyField(
  w: Work,
  c: Of<'assign' | 'severity' | 'cvss' | 'fix-by' | 'disclose' | 'cve'>,
): string | Refused {
  const { s, ctx } = w;
  switch (c.name) {
    case 'assign': {
      const member = findStaff(ctx.staff, c.staff);
      if (member === null) {
        return refuse(
          `no staff member "${c.staff}" (staff: ${ctx.staff.map((m) => m.address.split('@')[0]).join(', ')})`,
        );
      }
      const address = member.address;
      if (s.assignee === address) return `already assigned to ${member.name}`;
      w.events.push({ type: 'case.assigned', data: { assignee: address, previous: s.assignee } });
      s.assignee = address;
      w.assigned = address;
      return `assigned to ${member.name} <${address}>`;
    }
    case 'severity': {
      w.events.push({ type: 'case.severity-set', data: { severity: c.severity, previous: s.severity } });
      s.severity = c.severity;
      return `severity ${c.severity}`;
    }
    case 'cvss': {
      const score = scoreCvss(c.vector);
      if (!score.ok) return refuse(score.reason);
      w.events.push({
        type: 'case.severity-set',
        data: {
          severity: score.severity,
          previous: s.severity,
          cvss: { version: score.version, vector: score.vector, score: score.score },
        },
      });
      s.cvssVector = score.vector;
      s.cvssScore = score.score;
      s.severity = score.severity;
      return `CVSS ${score.version} base score ${score.score.toFixed(1)}: severity ${score.severity}`;
    }
    case 'fix-by': {
      const why = futureDate(w, c.date);
      if (why !== null) return refuse(why);
      w.events.push({ type: 'case.fix-by-set', data: { date: c.date, previous: s.fixBy } });
      s.fixBy = c.date;
      w.status.push('fix-scheduled');
      return `fix due by ${c.date}`;
    }
    case 'disclose': {
      const why = futureDate(w, c.date);
      if (why !== null) return refuse(why);
      w.events.push({ type: 'case.disclosure-scheduled', data: { date: c.date, previous: s.discloseOn } });
      s.discloseOn = c.date;
      w.status.push('disclosure-scheduled');
      return `disclosure agreed for ${c.date}`;
    }
    case 'cve':
      if (s.cve === c.id) return `already ${c.id}`;
      w.events.push({ type: 'case.cve-set', data: { cve: c.id, previous: s.cve } });
      s.cve = c.id;
      return `CVE ${c.id}`;
    default:
      return assertNever(c);
  }
}

function applyOther(
  w: Work,
  c: Of<'help' | 'note' | 'reply' | 'ack' | 'tag' | 'external' | 'link' | 'hold' | 'unhold' | 'pause'>,
): string | Refused {
  const { s, ctx } = w;
  switch (c.name) {
    case 'help':
      w.help = true;
      return 'the command list is below';
    case 'note':
      return 'the body is kept as an internal note';
    case 'reply':
      if (ctx.ownText === '') return refuse('the body is empty once the quoted thread is removed');
      if (s.reporterAddress === '') return refuse('the case has no reporter address');
      w.reply = true;
      w.events.push({ type: 'case.reply-queued', data: { chars: ctx.ownText.length } });
      return `your text (${ctx.ownText.length} characters, without the quoted thread) goes to the reporter`;
    case 'ack':
      if (s.reporterAddress === '') return refuse('the case has no reporter address');
      if (ctx.acknowledgment === 'mailed' || w.ack) return refuse('the reporter was acknowledged already');
      if (ctx.acknowledgment !== 'held') return refuse('no acknowledgment was held back on this case');
      w.ack = true;
      w.events.push({ type: 'acknowledgment.queued', data: { by: 'command' } });
      return `the acknowledgment held back goes to ${s.reporterAddress} on their thread`;
    case 'tag':
      if (s.tags.includes(c.word)) return `already tagged ${c.word}`;
      s.tags.push(c.word);
      w.events.push({ type: 'case.tagged', data: { tag: c.word } });
      return `tagged ${c.word}`;
    case 'external':
      if (!s.external.includes(c.org)) s.external.push(c.org);
      w.events.push({ type: 'case.external-expertise', data: { organisation: c.org } });
      return `outside expertise recorded: ${c.org}`;
    case 'link':
      if (c.caseId === s.id) return refuse('a case cannot link itself');
      if (!ctx.caseExists(c.caseId)) return refuse(`there is no case ${c.caseId}`);
      w.links.push({ otherId: c.caseId, kind: 'related' });
      w.events.push({ type: 'case.linked', data: { other: c.caseId } });
      return `linked to ${c.caseId}`;
    default:
      return applyPause(w, c);
  }
}

function applyPause(w: Work, c: Of<'hold' | 'unhold' | 'pause'>): string | Refused {
  const s = w.s;
  switch (c.name) {
    case 'hold':
      return applyHold(w, c.reason);
    case 'unhold': {
      if (!s.onHold) return 'was not on hold';
      // The reason stays in the history: the `case.hold` event that set it.
      w.events.push({
        type: 'case.hold',
        data: { onHold: false, releasedAt: w.ctx.now, releasedBy: w.ctx.actor.address },
      });
      s.onHold = false;
      s.holdReason = null;
      s.heldAt = null;
      s.heldBy = null;
      return 'legal hold released: deadlines and escalations run again, the retention purge may reach the case';
    }
    case 'pause':
      if (s.waitingOnReporter) return 'already waiting on the reporter';
      s.waitingOnReporter = true;
      w.events.push({ type: 'case.waiting-on-reporter', data: { waiting: true } });
      return 'waiting on the reporter: the clock pauses until they reply';
    default:
      return assertNever(c);
  }
}

/**
 * `/hold "<reason>"` (issue #13): a legal hold. Deadlines and escalations stand still (the
 * `case.hold` event is a pause) and the retention purge skips the case (`cases.on_hold`). The
 * reason, the time and the authenticated staff member go on the case and into the event. A case
 * on hold with a reason keeps it (`/unhold` first to record another); one held before #13
 * without a reason gets this one.
 */
function applyHold(w: Work, reason: string): string | Refused {
  const s = w.s;
  if (s.onHold && s.holdReason !== null) {
    if (s.holdReason === reason) return `already on legal hold: ${reason}`;
    return refuse(
      `already on legal hold since ${s.heldAt ?? '?'} (reason: ${s.holdReason}); /unhold first to record another reason`,
    );
  }
  const { now, actor } = w.ctx;
  w.events.push({
    type: 'case.hold',
    data: { onHold: true, reason, heldAt: now, heldBy: actor.address },
  });
  s.onHold = true;
  s.holdReason = reason;
  s.heldAt = now;
  s.heldBy = actor.address;
  return `on legal hold: ${reason} (deadlines and escalations stand still, the retention purge skips the case)`;
}

/** Finds a staff member by address, local part or name (case-insensitive). */
export function findStaff(staff: readonly StaffMember[], who: string): StaffMember | null {
  const w = who.toLowerCase();
  return (
    staffByAddress(staff, w) ??
    staff.find((s) => s.address.split('@')[0] === w) ??
    staff.find((s) => s.name.toLowerCase() === w || s.name.toLowerCase().split(/\s+/)[0] === w) ??
    null
  );
}
