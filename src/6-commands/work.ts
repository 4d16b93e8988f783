import type { StaffCommand } from './grammar.js';
import type { StatusEvent } from '../config/schema.js';
import type { CaseState, CommandPlan, PlanContext, PlannedEvent } from './case-state.js';

/** The working copy `planCommands` applies commands to, left to right. */
export interface Work {
  s: CaseState;
  ctx: PlanContext;
  events: PlannedEvent[];
  links: CommandPlan['links'];
  status: StatusEvent[];
  reply: boolean;
  ack: boolean;
  help: boolean;
  assigned: string | null;
  draft: boolean;
  revision: CommandPlan['revision'];
  notify: boolean;
}

export type Of<N extends StaffCommand['name']> = Extract<StaffCommand, { name: N }>;

export class Refused {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}
export const refuse = (reason: string): Refused => new Refused(reason);
