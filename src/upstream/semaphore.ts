/** The wait queue is full: the caller should fail fast instead of piling up. */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
}

/**
 * A counting semaphore: at most `limit` holders at once, at most `maxWaiting` waiters served in
 * arrival order (more are refused at once with QueueFullError). A waiter whose signal aborts
 * leaves the queue at once, without taking a permit.
 */
export class Semaphore {
  readonly #limit: number;
  readonly #maxWaiting: number;
  #active = 0;
  readonly #waiters: Array<() => void> = [];

  constructor(limit: number, maxWaiting = Number.POSITIVE_INFINITY) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('Semaphore limit must be a positive integer');
    if (!(maxWaiting >= 0)) throw new RangeError('Semaphore maxWaiting must be zero or more');
    this.#limit = limit;
    this.#maxWaiting = maxWaiting;
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Resolves with a release function once a permit is held. Call it exactly once. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    if (this.#active < this.#limit) {
      this.#active += 1;
      return Promise.resolve(this.#releaser());
    }
    if (this.#waiters.length >= this.#maxWaiting) {
      return Promise.reject(new QueueFullError(`${this.#active} calls in flight and ${this.#waiters.length} waiting`));
    }
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#active += 1;
        resolve(this.#releaser());
      };
      const onAbort = (): void => {
        const index = this.#waiters.indexOf(grant);
        if (index !== -1) this.#waiters.splice(index, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(grant);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active -= 1;
      this.#waiters.shift()?.();
    };
  }
}
