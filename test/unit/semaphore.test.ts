import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../src/upstream/semaphore.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Semaphore', () => {
  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects limit %s', (limit) => {
    expect(() => new Semaphore(limit)).toThrow(RangeError);
  });

  it('grants up to the limit immediately, then queues', async () => {
    const semaphore = new Semaphore(2);
    const a = await semaphore.acquire();
    await semaphore.acquire();
    expect(semaphore.active).toBe(2);
    let granted = false;
    const pending = semaphore.acquire().then((release) => {
      granted = true;
      return release;
    });
    await tick();
    expect(granted).toBe(false);
    expect(semaphore.waiting).toBe(1);
    a();
    const c = await pending;
    expect(granted).toBe(true);
    expect(semaphore.active).toBe(2);
    expect(semaphore.waiting).toBe(0);
    c();
    expect(semaphore.active).toBe(1);
  });

  it('never exceeds the bound under load and serves waiters in FIFO order', async () => {
    const semaphore = new Semaphore(3);
    let inFlight = 0;
    let peak = 0;
    const started: number[] = [];
    const task = async (index: number): Promise<void> => {
      const release = await semaphore.acquire();
      started.push(index);
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      expect(semaphore.active).toBeLessThanOrEqual(3);
      await tick();
      inFlight -= 1;
      release();
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => task(i)));
    expect(peak).toBe(3);
    expect(started).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(semaphore.active).toBe(0);
    expect(semaphore.waiting).toBe(0);
  });

  it('releasing twice frees only one permit', async () => {
    const semaphore = new Semaphore(1);
    const release = await semaphore.acquire();
    const order: string[] = [];
    const b = semaphore.acquire().then((r) => {
      order.push('b');
      return r;
    });
    const c = semaphore.acquire().then((r) => {
      order.push('c');
      return r;
    });
    release();
    release();
    await tick();
    expect(order).toEqual(['b']);
    expect(semaphore.active).toBe(1);
    expect(semaphore.waiting).toBe(1);
    (await b)();
    (await c)();
    expect(order).toEqual(['b', 'c']);
    expect(semaphore.active).toBe(0);
  });

  it('an already-aborted signal rejects with its reason and takes nothing', async () => {
    const semaphore = new Semaphore(1);
    const controller = new AbortController();
    const reason = new Error('gone');
    controller.abort(reason);
    await expect(semaphore.acquire(controller.signal)).rejects.toBe(reason);
    expect(semaphore.active).toBe(0);
    expect(semaphore.waiting).toBe(0);
  });

  it('aborting while waiting leaves the queue, rejects, and releases nothing', async () => {
    const semaphore = new Semaphore(1);
    const holder = await semaphore.acquire();
    const controller = new AbortController();
    const order: string[] = [];
    const aborted = semaphore.acquire(controller.signal);
    const next = semaphore.acquire().then((release) => {
      order.push('next');
      return release;
    });
    expect(semaphore.waiting).toBe(2);
    const reason = new Error('client went away');
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    expect(semaphore.waiting).toBe(1);
    expect(semaphore.active).toBe(1);
    await tick();
    expect(order).toEqual([]);
    holder();
    const release = await next;
    expect(order).toEqual(['next']);
    expect(semaphore.active).toBe(1);
    release();
    expect(semaphore.active).toBe(0);
  });

  it('aborting after the grant changes nothing', async () => {
    const semaphore = new Semaphore(1);
    const holder = await semaphore.acquire();
    const controller = new AbortController();
    const pending = semaphore.acquire(controller.signal);
    holder();
    const release = await pending;
    controller.abort();
    await tick();
    expect(semaphore.active).toBe(1);
    release();
    expect(semaphore.active).toBe(0);
  });

  it('aborting every waiter leaves the semaphore usable', async () => {
    const semaphore = new Semaphore(2);
    const held = [await semaphore.acquire(), await semaphore.acquire()];
    const controllers = Array.from({ length: 5 }, () => new AbortController());
    const waits = controllers.map((c) => semaphore.acquire(c.signal).then(() => 'granted', () => 'rejected'));
    for (const c of controllers) c.abort();
    expect(await Promise.all(waits)).toEqual(Array(5).fill('rejected'));
    expect(semaphore.waiting).toBe(0);
    for (const release of held) release();
    expect(semaphore.active).toBe(0);
    const again = [await semaphore.acquire(), await semaphore.acquire()];
    expect(semaphore.active).toBe(2);
    for (const release of again) release();
  });
});
