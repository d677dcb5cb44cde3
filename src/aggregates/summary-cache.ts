import type { BatchCallsSummary } from '../model/summary.js';
import type { CallOptions } from '../upstream/client.js';
import { follow } from '../upstream/shared-flight.js';

export interface SummaryCacheOptions {
  /** How long a summary is reused for identical arguments; 0 = not cached (nor shared). */
  ttlMs: number;
  /**
   * Time budget of one shared computation, from its start (the operation timeout): it runs on its
   * own deadline, not on that of the caller who happened to start it.
   */
  computeTimeoutMs: number;
  /** Most summaries kept; the oldest goes first. Default 100. */
  maxEntries?: number;
  /** Epoch ms, for the TTL; tests may pass their own. */
  now?: () => number;
}

/** Computes a summary within the given call options (cancellation and deadline). */
export type SummaryComputation<T> = (call: CallOptions) => Promise<T>;

interface Entry<T> {
  value: T;
  expiresAt: number;
}

interface Flight<T> {
  promise: Promise<T>;
  controller: AbortController;
  waiters: number;
}

/**
 * Summaries, reused briefly for identical arguments. A summary walks up to a page budget of the
 * upstream list, so dashboards refreshing together must not each walk it:
 * - a fresh result is reused until its TTL ends;
 * - identical requests while one is computing join it (one walk), each leaving at its own deadline
 *   or cancellation without cancelling it for the others; it is cancelled only when nobody waits;
 * - a failed computation is not kept: the next request tries again;
 * - at most `maxEntries` results are kept.
 * Keys are the caller's (arguments plus the upstream key's fingerprint, never the key itself).
 */
export class SummaryCache<T = BatchCallsSummary> {
  readonly ttlMs: number;
  readonly #computeTimeoutMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry<T>>();
  readonly #flights = new Map<string, Flight<T>>();

  constructor({ ttlMs, computeTimeoutMs, maxEntries = 100, now = Date.now }: SummaryCacheOptions) {
    this.ttlMs = ttlMs;
    this.#computeTimeoutMs = computeTimeoutMs;
    this.#maxEntries = maxEntries;
    this.#now = now;
  }

  /** Summaries kept now (expired ones included until they are next looked up). */
  get size(): number {
    return this.#entries.size;
  }

  /** The summary for `key`: a fresh cached one, the one being computed, or a new computation. */
  get(key: string, compute: SummaryComputation<T>, caller: CallOptions): Promise<T> {
    // Off: each request computes its own, within its own deadline and cancellation.
    if (this.ttlMs === 0) return compute(caller);
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      if (entry.expiresAt > this.#now()) return Promise.resolve(entry.value);
      this.#entries.delete(key);
    }
    const flight = this.#flights.get(key) ?? this.#start(key, compute);
    return follow(flight, caller, "The operation's time budget ran out before the summary was ready", () => this.#abandon(key, flight));
  }

  #start(key: string, compute: SummaryComputation<T>): Flight<T> {
    const controller = new AbortController();
    // Epoch ms on the real clock, as the upstream client reads deadlines (`now` only ages results).
    const call: CallOptions = { signal: controller.signal, deadline: Date.now() + this.#computeTimeoutMs };
    const promise = (async () => compute(call))();
    const flight: Flight<T> = { promise, controller, waiters: 0 };
    this.#flights.set(key, flight);
    promise.then(
      (value) => {
        this.#settle(key, flight);
        this.#keep(key, value);
      },
      () => this.#settle(key, flight),
    );
    return flight;
  }

  #settle(key: string, flight: Flight<T>): void {
    if (this.#flights.get(key) === flight) this.#flights.delete(key);
  }

  /** Nobody waits for the computation any more: cancel it, and let the next request start afresh. */
  #abandon(key: string, flight: Flight<T>): void {
    if (flight.waiters > 0) return;
    this.#settle(key, flight);
    flight.controller.abort(new Error('summary abandoned: no caller waits for it'));
  }

  #keep(key: string, value: T): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: this.#now() + this.ttlMs });
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(oldest);
    }
  }
}
