import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PARK_MARGIN_MS, watchParked } from '../../../src/jobs/worker.js';

/**
 * The park watch against a stand-in for ioredis (status, the `reconnecting` event with its delay,
 * connect, disconnect): it must connect a parked connection again, and never one whose own retry
 * timer is still due (two retry chains leak a socket past close: review of the fix).
 */
class FakeRedis extends EventEmitter {
  status = 'ready';
  connect = vi.fn(() => {
    this.status = 'ready';
    return Promise.resolve();
  });
  disconnect = vi.fn(() => {
    this.status = 'end';
  });
  duplicate(): FakeRedis {
    return new FakeRedis();
  }
  /** As ioredis does on a lost socket: status first, then the event with the retry delay. */
  retryIn(delayMs: number): void {
    this.status = 'reconnecting';
    this.emit('reconnecting', delayMs);
  }
}

const log = pino({ level: 'silent' });

function watched(): { blocking: FakeRedis; watch: ReturnType<typeof watchParked> } {
  const own = new FakeRedis();
  const watch = watchParked(own as unknown as Redis, log, 'test');
  // BullMQ makes its blocking connection this way.
  const blocking = (own as unknown as Redis).duplicate() as unknown as FakeRedis;
  return { blocking, watch };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('watchParked', () => {
  it('sees the connections BullMQ duplicates', () => {
    const { blocking, watch } = watched();
    expect(watch.duplicates).toEqual([blocking]);
    watch.stop();
  });

  it('leaves a connection alone while its announced retry is due, even a long one', () => {
    const { blocking, watch } = watched();
    blocking.retryIn(20_000);
    vi.advanceTimersByTime(20_000 + PARK_MARGIN_MS - 1_000);
    expect(blocking.connect).not.toHaveBeenCalled();
    // Its own timer fires: connecting, failing, retrying again — each announced.
    blocking.status = 'connecting';
    vi.advanceTimersByTime(1_000);
    blocking.retryIn(20_000);
    vi.advanceTimersByTime(20_000);
    expect(blocking.connect).not.toHaveBeenCalled();
    watch.stop();
  });

  it('connects it again once it is still reconnecting well after the retry it announced', () => {
    const { blocking, watch } = watched();
    blocking.retryIn(100); // …and BullMQ's disconnect() cleared that timer: nothing comes
    vi.advanceTimersByTime(100 + PARK_MARGIN_MS + 1_000);
    expect(blocking.connect).toHaveBeenCalledTimes(1);
    expect(blocking.status).toBe('ready');
    vi.advanceTimersByTime(60_000);
    expect(blocking.connect).toHaveBeenCalledTimes(1);
    expect(blocking.disconnect).not.toHaveBeenCalled();
    watch.stop();
  });

  it('once closing, ends the connection it connected again', async () => {
    const { blocking, watch } = watched();
    watch.closing();
    blocking.retryIn(100);
    // Well inside the margin of a running worker: a close does not wait on it.
    await vi.advanceTimersByTimeAsync(100 + 2_000);
    expect(100 + 2_000).toBeLessThan(PARK_MARGIN_MS);
    expect(blocking.connect).toHaveBeenCalledTimes(1);
    expect(blocking.disconnect).toHaveBeenCalledTimes(1);
    expect(blocking.status).toBe('end');
    watch.stop();
  });
});
