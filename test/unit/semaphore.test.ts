import { describe, expect, it } from 'vitest';
import { QueueFullError, Semaphore } from '../../src/upstream/semaphore.js';

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

describe('Semaphore: bounded wait queue (maxWaiting)', () => {
  it.each([-1, Number.NaN])('rejects maxWaiting %s', (maxWaiting) => {
    expect(() => new Semaphore(1, maxWaiting)).toThrow(RangeError);
  });

  it('refuses a waiter beyond maxWaiting at once with QueueFullError, taking nothing', async () => {
    const semaphore = new Semaphore(1, 2);
    const holder = await semaphore.acquire();
    const queued = [semaphore.acquire(), semaphore.acquire()];
    expect(semaphore.waiting).toBe(2);
    await expect(semaphore.acquire()).rejects.toBeInstanceOf(QueueFullError);
    await expect(semaphore.acquire()).rejects.toBeInstanceOf(QueueFullError);
    expect(semaphore.active).toBe(1);
    expect(semaphore.waiting).toBe(2);
    // The queued ones are still served, in order.
    holder();
    const first = await queued[0];
    expect(semaphore.waiting).toBe(1);
    first?.();
    const second = await queued[1];
    second?.();
    expect(semaphore.active).toBe(0);
    expect(semaphore.waiting).toBe(0);
  });

  it('maxWaiting 0 does not limit the permits themselves', async () => {
    const semaphore = new Semaphore(2, 0);
    const a = await semaphore.acquire();
    const b = await semaphore.acquire();
    expect(semaphore.active).toBe(2);
    a();
    b();
  });

  it('maxWaiting 0: no queue at all, a call beyond the limit fails at once', async () => {
    const semaphore = new Semaphore(1, 0);
    const holder = await semaphore.acquire();
    const refused = semaphore.acquire();
    await expect(refused).rejects.toBeInstanceOf(QueueFullError);
    expect(semaphore.waiting).toBe(0);
    holder();
    // Once the permit is back, a call gets it at once.
    const again = await semaphore.acquire();
    expect(semaphore.active).toBe(1);
    again();
  });

  it('a slot frees as soon as a waiter is granted its permit', async () => {
    const semaphore = new Semaphore(1, 1);
    const holder = await semaphore.acquire();
    const waiter = semaphore.acquire();
    await expect(semaphore.acquire()).rejects.toBeInstanceOf(QueueFullError);
    holder();
    const release = await waiter;
    expect(semaphore.waiting).toBe(0);
    const next = semaphore.acquire(); // fits in the queue again
    expect(semaphore.waiting).toBe(1);
    release();
    (await next)();
    expect(semaphore.active).toBe(0);
  });

  it('an aborted waiter frees its queue slot at once, without a permit being released', async () => {
    const semaphore = new Semaphore(1, 2);
    const holder = await semaphore.acquire();
    const controller = new AbortController();
    const aborted = semaphore.acquire(controller.signal);
    const kept = semaphore.acquire();
    await expect(semaphore.acquire()).rejects.toBeInstanceOf(QueueFullError);
    controller.abort(new Error('client went away'));
    // Synchronously: the slot is free before anything else runs.
    expect(semaphore.waiting).toBe(1);
    const late = semaphore.acquire();
    expect(semaphore.waiting).toBe(2);
    await expect(aborted).rejects.toThrow('client went away');
    await expect(semaphore.acquire()).rejects.toBeInstanceOf(QueueFullError);
    expect(semaphore.active).toBe(1);
    holder();
    (await kept)();
    (await late)();
    expect(semaphore.active).toBe(0);
    expect(semaphore.waiting).toBe(0);
  });

  it('a refused call does not disturb the order of those already waiting', async () => {
    const semaphore = new Semaphore(1, 2);
    const holder = await semaphore.acquire();
    const order: string[] = [];
    const a = semaphore.acquire().then((release) => {
      order.push('a');
      release();
    });
    const b = semaphore.acquire().then((release) => {
      order.push('b');
      release();
    });
    const refused = semaphore.acquire().then(
      () => 'granted',
      (error: unknown) => (error instanceof QueueFullError ? 'refused' : 'other'),
    );
    expect(await refused).toBe('refused');
    holder();
    await Promise.all([a, b]);
    expect(order).toEqual(['a', 'b']);
    expect(semaphore.active).toBe(0);
  });
});
