/**
 * Per-client rate limit: a token bucket per identity holding `max` requests, refilled at `max`
 * per `windowMs`. Bursts up to `max` pass; a steady client gets `max` per window. Memory is
 * bounded: at most `maxClients` buckets, the least recently seen dropped first (forgetting a
 * bucket only ever gives its client a fresh allowance, never a stricter one).
 */
export interface RateLimitOptions {
  max: number;
  windowMs: number;
  maxClients?: number;
  now?: () => number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly #max: number;
  readonly #perMs: number;
  readonly #maxClients: number;
  readonly #now: () => number;
  /** Insertion order = least recently seen first. */
  readonly #buckets = new Map<string, Bucket>();

  constructor({ max, windowMs, maxClients = 10_000, now = () => Date.now() }: RateLimitOptions) {
    this.#max = max;
    this.#perMs = max / windowMs;
    this.#maxClients = maxClients;
    this.#now = now;
  }

  take(key: string): RateDecision {
    const now = this.#now();
    const previous = this.#buckets.get(key);
    const bucket = previous === undefined
      ? { tokens: this.#max, at: now }
      : { tokens: Math.min(this.#max, previous.tokens + (now - previous.at) * this.#perMs), at: now };
    this.#buckets.delete(key);
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > this.#maxClients) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.#perMs / 1000)) };
  }

  get clients(): number {
    return this.#buckets.size;
  }
}
