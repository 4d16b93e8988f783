import { describe, expect, it } from 'vitest';
import { commandsFor, mayRun, rolesFor } from '../../../src/6-commands/raci.js';
import { loadConfig } from '../../../src/config/load.js';

const config = loadConfig({ env: { PSIRT_ENV: 'test', PSIRT_IMAP__PASSWORD: 'x' } });

describe('the RACI matrix', () => {
  it("lets Responsible and Accountable roles run an activity's commands", () => {
    expect(mayRun(config.raci, { roles: ['security'] }, 'cvss')).toEqual({
      ok: true,
      activity: 'Verification and scoring (CVSS, severity)',
    });
    expect(mayRun(config.raci, { roles: ['manager'] }, 'cvss').ok).toBe(true);
    expect(mayRun(config.raci, { roles: ['developer'] }, 'fixed').ok).toBe(true);
  });

  it('refuses other roles with the roles it needs', () => {
    expect(mayRun(config.raci, { roles: ['developer'] }, 'close')).toEqual({
      ok: false,
      reason:
        '/close (Closing, reopening and legal hold) needs the role security or legal or manager; you have developer',
    });
  });

  it('leaves a decision (decided_by = "accountable") to the accountable role alone', () => {
    const publish = config.raci.find((a) => a.commands.includes('publish'))!;
    expect(publish.decided_by).toBe('accountable');
    expect(rolesFor(publish)).toEqual(['manager']);
    expect(mayRun(config.raci, { roles: ['security', 'communications'] }, 'publish').ok).toBe(false);
  });

  it('opens /help and /note to every staff member', () => {
    expect(commandsFor(config.raci, { roles: ['support'] })).toEqual(['help', 'note']);
  });

  it('is data: another matrix gives other answers', () => {
    const raci = config.raci.map((a) =>
      a.commands.includes('cvss') ? { ...a, responsible: ['developer' as const] } : a,
    );
    expect(mayRun(raci, { roles: ['developer'] }, 'cvss').ok).toBe(true);
    expect(mayRun(raci, { roles: ['security'] }, 'cvss').ok).toBe(false);
  });
});
