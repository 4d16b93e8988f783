import type { Resolution, Severity } from './grammar.js';
import type { RaciActivity, StaffMember, StatusEvent } from '../config/schema.js';
import type { Stage } from './lifecycle.js';
import type { AdvisoryFields } from '../advisory/model.js';

/** The types of command planning (plan.ts): the case as commands see it, and the plan. */

/** A case as the commands see it (the store maps its row to this and back). */
export interface CaseState {
  id: string;
  stage: Stage;
  resolution: Resolution | null;
  severity: Severity | null;
  cvssVector: string | null;
  cvssScore: number | null;
  assignee: string | null;
  onHold: boolean;
  /**
   * The legal hold (issue #13): why, since when (ISO) and by whom (staff address); null when
   * the case is not on hold, or when a hold older than #13 recorded none.
   */
  holdReason: string | null;
  heldAt: string | null;
  heldBy: string | null;
  waitingOnReporter: boolean;
  tags: string[];
  cve: string | null;
  fixBy: string | null;
  discloseOn: string | null;
  advisoryUrl: string | null;
  credit: string | null;
  external: string[];
  reporterAddress: string;
  closedAt: string | null;
  reopenedAt: string | null;
  triagedAt: string | null;
  verifiedAt: string | null;
  fixedAt: string | null;
  publishedAt: string | null;
  /** The advisory fields (issue #14; sealed at rest in `cases.advisory_sealed`). */
  advisory: AdvisoryFields;
  /** The reporter's stated credit (a `Credit:` line on their thread): null never stated, '' none. */
  creditPreference: string | null;
  /** Why staff publish another credit than the reporter's preference (/credit-override). */
  creditOverrideReason: string | null;
  /** When the last draft was queued to the reporter (/draft). */
  draftSentAt: string | null;
  /** Why no draft could go to the reporter (/no-draft). */
  noDraftReason: string | null;
  /** Published revisions so far (`advisory_versions` of kind revision). */
  revisions: number;
}

export interface PlanContext {
  /** ISO time of the change. */
  now: string;
  /** Today's local date (YYYY-MM-DD) in the calendar's zone: agreed dates may not lie before it. */
  today: string;
  actor: StaffMember;
  staff: readonly StaffMember[];
  raci: readonly RaciActivity[];
  /** Which status events mail the reporter (config `status_mails.events`). */
  statusEvents: readonly StatusEvent[];
  /** Whether another case with this id exists (for /duplicate and /link). */
  caseExists(id: string): boolean;
  /** The staff member's own text (quoted thread and signature removed), for /reply. */
  ownText: string;
  /**
   * What became of the case's acknowledgment, for /ack: `held` by the flood guard (issue #10),
   * `mailed` (queued or sent), `skipped` (no sender address), or `none`.
   */
  acknowledgment: 'held' | 'mailed' | 'skipped' | 'none';
  /** The configured product ids (`products[].id`), for /affects and /fixed-in. */
  products: readonly string[];
  /**
   * How a draft could reach the reporter (issue #14), for /draft: `encrypted` to their pinned
   * key; `clear-report` signed in clear — we hold no key but their report itself came in clear,
   * so clear mail is the channel they chose; `no-key` — their report came encrypted (or could not
   * be read) and we hold no key: the unpublished advisory must not go in clear, /draft is
   * refused. Absent: `no-key`.
   */
  reporterDraft?: 'encrypted' | 'clear-report' | 'no-key';
}

export interface CommandOutcome {
  /** The command as written, e.g. `/assign bob`. */
  text: string;
  applied: boolean;
  /** What happened, or why not. */
  detail: string;
}

/** One audit event per change; the store adds actor, authentication and Message-ID. */
export interface PlannedEvent {
  type: string;
  data: Record<string, unknown>;
}

export interface CommandPlan {
  outcomes: CommandOutcome[];
  /** The case after every applied command. */
  final: CaseState;
  events: PlannedEvent[];
  links: { otherId: string; kind: 'related' | 'duplicate-of' }[];
  /** Status mails for the reporter, in order (only events enabled in config). */
  statusMails: StatusEvent[];
  /** The body goes to the reporter (a valid /reply). */
  reply: boolean;
  /** The held acknowledgment goes to the reporter (a valid /ack). */
  ack: boolean;
  /** The grammar and the actor's commands are sent back (/help). */
  help: boolean;
  /** A staff member newly assigned (told by mail unless it is the actor). */
  assigned: string | null;
  /** The advisory draft goes to the reporter (a valid /draft): a new draft version is frozen. */
  draft: boolean;
  /** A published revision to freeze (/publish the first time, then /revise). */
  revision: { number: number; summary: string } | null;
  /** The published advisory goes to the customers running an affected product (/notify). */
  notify: boolean;
}
