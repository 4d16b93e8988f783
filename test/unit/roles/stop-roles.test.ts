import { describe, expect, it } from 'vitest';
import { stopRoles, type RunningRole } from '../../../src/roles/role.js';

function role(name: string, stop: () => Promise<void>): RunningRole {
  return { name, stop };
}

describe('stopRoles', () => {
  it('stops every role at once and names none when all stop', async () => {
    const order: string[] = [];
    const roles = ['intake', 'mailer'].map((name) =>
      role(name, async () => {
        order.push(`${name} begins`);
        await new Promise((r) => setTimeout(r, 10));
        order.push(`${name} ends`);
      }),
    );
    await expect(stopRoles(roles, 1000)).resolves.toEqual([]);
    expect(order).toEqual(['intake begins', 'mailer begins', 'intake ends', 'mailer ends']);
  });

  it('names a role whose stop never resolves, and one whose stop fails, without waiting for ever', async () => {
    const roles = [
      role('intake', () => Promise.resolve()),
      role('escalation', () => new Promise<void>(() => undefined)),
      role('retention', () => Promise.reject(new Error('database is locked'))),
      role('mailer', () => {
        throw new Error('thrown before any await');
      }),
    ];
    await expect(stopRoles(roles, 50)).resolves.toEqual(['escalation', 'retention', 'mailer']);
  });
});
