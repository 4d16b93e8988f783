import { startEscalation } from './escalation.js';
import { startIntake } from './intake.js';
import { startMailer } from './mailer.js';
import { startRetention } from './retention.js';
import type { RoleDeps, RunningRole } from './role.js';

export type { RoleDeps, RunningRole } from './role.js';

/** The roles of `psirt start`, in start order; `--role` picks some of them. */
export const ROLES = ['intake', 'mailer', 'escalation', 'retention'] as const;
export type Role = (typeof ROLES)[number];

/** The one table every role is started through (all with the same `RoleDeps → RunningRole`). */
export const ROLE_STARTERS: Readonly<Record<Role, (deps: RoleDeps) => RunningRole>> = {
  intake: startIntake,
  mailer: startMailer,
  escalation: startEscalation,
  retention: startRetention,
};
