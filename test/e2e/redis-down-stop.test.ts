import { workerStack } from '../support/worker-stack.js';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { drainSecurityInbox, startService } from '../support/service.js';
import { throwawayRedis, type ThrowawayRedis } from '../support/throwaway-redis.js';

/**
 * `psirt start` stopped while Redis is down. BullMQ's close waits for Redis (its blocking
 * connection parks, its commands queue for a reconnect): the service hung until killed, then —
 * with only the job deadline — waited 60 s and exited 1. No job runs, nothing is lost (the work
 * is in SQLite): it stops cleanly (the park watch ends the blocking connection; BullMQ gets 5 s
 * before its connections are dropped).
 */

const stack = workerStack();
const ROLES = ['mailer', 'escalation', 'retention'];
let redis: ThrowawayRedis | undefined;

afterAll(() => redis?.kill());

describe('stopping while Redis is down (real Dovecot and Postfix, a throwaway Redis)', () => {
  it('exits 0, saying it stopped, with no stop or close timeout', async () => {
    redis = await throwawayRedis();
    await drainSecurityInbox(stack);
    const service = await startService(stack, { PSIRT_REDIS__URL: redis.url });
    await redis.stop();
    // The workers notice: each has lost its connection and retries.
    await eventually(
      () => ROLES.every((role) => service.out.text.includes(`"event":"${role}.redis-error"`)) || undefined,
      { what: 'every worker to see Redis gone' },
    );
    expect(await service.stop()).toBe(0);
    const log = service.out.text;
    expect(log).toContain('"event":"service.stopped"');
    expect(log).not.toContain('worker-close-timeout');
    expect(log).not.toContain('service.stop-timeout');
  });
});
