/**
 * The clock the live watch schedules its polls on. Injected so that tests can fire each poll
 * themselves and read the delay it was scheduled with (exact counts instead of sleeps).
 */
export interface Timers {
  /** Runs `callback` once after `ms`; the returned function cancels it (a no-op once it ran). */
  schedule(ms: number, callback: () => void): () => void;
}

/**
 * Node's timers. Unreferenced: a scheduled poll never keeps the process alive by itself (an open
 * subscription's connection does, and shutdown ends those).
 */
export const realTimers: Timers = {
  schedule(ms, callback) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

interface Pending {
  id: number;
  due: number;
  delay: number;
  callback: () => void;
}

/**
 * Timers that only fire when a test says so. Time starts at 0 and moves only through `advance`
 * and `runNext`; each pending timer remembers the delay it was scheduled with.
 */
export class ManualTimers implements Timers {
  #now = 0;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  schedule(ms: number, callback: () => void): () => void {
    const id = this.#nextId++;
    this.#pending.set(id, { id, due: this.#now + ms, delay: ms, callback });
    return () => {
      this.#pending.delete(id);
    };
  }

  /** Timers scheduled and neither fired nor cancelled. */
  get pending(): number {
    return this.#pending.size;
  }

  /** The delay each pending timer was scheduled with, earliest due first. */
  pendingDelays(): number[] {
    return this.#ordered().map((p) => p.delay);
  }

  /** Moves time on by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): number {
    const until = this.#now + ms;
    let fired = 0;
    for (;;) {
      const next = this.#ordered()[0];
      if (next === undefined || next.due > until) break;
      this.#fire(next);
      fired += 1;
    }
    this.#now = until;
    return fired;
  }

  /** Fires the earliest pending timer (time jumps to it) and returns the delay it was scheduled with. */
  runNext(): number {
    const next = this.#ordered()[0];
    if (next === undefined) throw new Error('no timer is pending');
    this.#fire(next);
    return next.delay;
  }

  #fire(timer: Pending): void {
    this.#pending.delete(timer.id);
    this.#now = Math.max(this.#now, timer.due);
    timer.callback();
  }

  #ordered(): Pending[] {
    return [...this.#pending.values()].sort((a, b) => a.due - b.due || a.id - b.id);
  }
}
