import type { RoleDeps, RunningRole } from '../src/main.js';

/** The mailer role: sends outbox rows through BullMQ + SMTP. Built in issue #3. */
export function startMailer(deps: RoleDeps): RunningRole {
  deps.log.warn({ event: 'mailer.not-built' }, 'mailer role is not built yet (issue #3); it sends no mail');
  return { name: 'mailer', stop: () => Promise.resolve() };
}

/** The escalation role: sweeps due deadlines and mails on-call. Built in issue #5. */
export function startEscalation(deps: RoleDeps): RunningRole {
  deps.log.warn(
    { event: 'escalation.not-built' },
    'escalation role is not built yet (issue #5); it escalates nothing',
  );
  return { name: 'escalation', stop: () => Promise.resolve() };
}
