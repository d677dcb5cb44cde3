import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RateLimiter, type RateDecision } from '../../src/security/rate-limit.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

const allowed = (decision: RateDecision): boolean => decision.allowed;
const retryAfter = (decision: RateDecision): number | undefined => (decision.allowed ? undefined : decision.retryAfterSeconds);

describe('RateLimiter: token bucket', () => {
  it('lets a burst of exactly `max` requests through at once, then refuses', () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ max: 5, windowMs: 60_000, now: clock.now });
    const burst = Array.from({ length: 5 }, () => limiter.take('client'));
    expect(burst.every(allowed)).toBe(true);
    const refused = limiter.take('client');
    expect(refused.allowed).toBe(false);
    // Refusals do not consume anything and keep being refusals while the clock stands still.
    expect(allowed(limiter.take('client'))).toBe(false);
  });

  it('refills at max per window: one token every windowMs / max', () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ max: 3, windowMs: 60_000, now: clock.now });
    for (let i = 0; i < 3; i++) expect(allowed(limiter.take('c'))).toBe(true);
    expect(allowed(limiter.take('c'))).toBe(false);
    clock.advance(19_999);
    expect(allowed(limiter.take('c'))).toBe(false);
    clock.advance(1);
    expect(allowed(limiter.take('c'))).toBe(true); // 20 s = one token
    expect(allowed(limiter.take('c'))).toBe(false);
    clock.advance(40_000); // two tokens
    expect(allowed(limiter.take('c'))).toBe(true);
    expect(allowed(limiter.take('c'))).toBe(true);
    expect(allowed(limiter.take('c'))).toBe(false);
  });

  it('never stores more than `max` tokens, however long a client was idle', () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ max: 4, windowMs: 1_000, now: clock.now });
    expect(allowed(limiter.take('c'))).toBe(true);
    clock.advance(24 * 3_600_000);
    const burst = Array.from({ length: 6 }, () => limiter.take('c'));
    expect(burst.map(allowed)).toEqual([true, true, true, true, false, false]);
  });

  it('retryAfterSeconds is the wait until the next whole token, rounded up, at least 1', () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ max: 3, windowMs: 60_000, now: clock.now });
    for (let i = 0; i < 3; i++) limiter.take('c');
    expect(retryAfter(limiter.take('c'))).toBe(20);
    clock.advance(10_000);
    expect(retryAfter(limiter.take('c'))).toBe(10);
    clock.advance(9_999);
    expect(retryAfter(limiter.take('c'))).toBe(1); // 1 ms left: rounded up to a whole second

    const single = new RateLimiter({ max: 1, windowMs: 60_000, now: clock.now });
    single.take('x');
    expect(retryAfter(single.take('x'))).toBe(60);
    clock.advance(30_000);
    expect(retryAfter(single.take('x'))).toBe(30);

    // A fast window still says at least one second (Retry-After has whole seconds).
    const fast = new RateLimiter({ max: 10, windowMs: 1_000, now: clock.now });
    for (let i = 0; i < 10; i++) fast.take('f');
    expect(retryAfter(fast.take('f'))).toBe(1);
  });

  it('waiting retryAfterSeconds is always enough (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 100, max: 86_400_000 }),
        fc.array(fc.integer({ min: 0, max: 120_000 }), { maxLength: 30 }),
        (max, windowMs, gaps) => {
          const clock = manualClock();
          const limiter = new RateLimiter({ max, windowMs, now: clock.now });
          for (const gap of gaps) {
            clock.advance(gap);
            limiter.take('c');
          }
          // Drain whatever is left, then follow the advice once.
          let decision = limiter.take('c');
          for (let i = 0; decision.allowed && i <= max; i++) decision = limiter.take('c');
          expect(decision.allowed).toBe(false);
          if (decision.allowed) return;
          expect(decision.retryAfterSeconds).toBeGreaterThanOrEqual(1);
          // At most one token's worth of time, rounded up to whole seconds (+1 s: the float division
          // can land just above a whole number, e.g. max 3 per 86 400 000 ms says 28 801 s, not 28 800).
          expect(decision.retryAfterSeconds).toBeLessThanOrEqual(Math.max(1, Math.ceil(windowMs / max / 1000) + 1));
          clock.advance(decision.retryAfterSeconds * 1000);
          expect(limiter.take('c').allowed).toBe(true);
        },
      ),
      { numRuns: 300, seed: 20_240_601 },
    );
  });

  it('keeps a separate bucket per key', () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ max: 2, windowMs: 60_000, now: clock.now });
    expect([limiter.take('alice'), limiter.take('alice'), limiter.take('alice')].map(allowed)).toEqual([true, true, false]);
    // Alice's exhaustion costs Bob nothing.
    expect([limiter.take('bob'), limiter.take('bob'), limiter.take('bob')].map(allowed)).toEqual([true, true, false]);
    expect(allowed(limiter.take('carol'))).toBe(true);
    expect(limiter.clients).toBe(3);
    // Keys are compared exactly (no case folding or trimming that could merge clients).
    expect(allowed(limiter.take('Alice'))).toBe(true);
    expect(allowed(limiter.take('alice '))).toBe(true);
  });

  it('keeps at most maxClients buckets, dropping the least recently seen first', () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ max: 1, windowMs: 60_000, maxClients: 2, now: clock.now });
    expect(allowed(limiter.take('a'))).toBe(true);
    expect(allowed(limiter.take('b'))).toBe(true);
    expect(limiter.clients).toBe(2);
    // A refused request still counts as "seen": a is now more recent than b.
    expect(allowed(limiter.take('a'))).toBe(false);
    expect(allowed(limiter.take('c'))).toBe(true);
    expect(limiter.clients).toBe(2);
    // b was evicted (fresh allowance), a was kept (still exhausted).
    expect(allowed(limiter.take('a'))).toBe(false);
    expect(allowed(limiter.take('b'))).toBe(true);
    // Taking b evicted c, the least recently seen of {c, a, b}.
    expect(limiter.clients).toBe(2);
    expect(allowed(limiter.take('a'))).toBe(false);
  });

  it('stays bounded under a flood of distinct keys', () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ max: 1, windowMs: 60_000, maxClients: 100, now: clock.now });
    limiter.take('steady');
    for (let i = 0; i < 10_000; i++) {
      limiter.take(`flood-${i}`);
      if (i % 50 === 0) limiter.take('steady'); // seen often: never the least recent
      expect(limiter.clients).toBeLessThanOrEqual(100);
    }
    expect(limiter.clients).toBe(100);
    // The frequently seen client kept its (exhausted) bucket through the flood.
    expect(allowed(limiter.take('steady'))).toBe(false);
  });

  it('uses the real clock by default and the default client bound of 10 000', () => {
    const limiter = new RateLimiter({ max: 1, windowMs: 3_600_000 });
    expect(allowed(limiter.take('k'))).toBe(true);
    expect(retryAfter(limiter.take('k'))).toBeGreaterThanOrEqual(3_599);
    for (let i = 0; i < 10_050; i++) limiter.take(`k${i}`);
    expect(limiter.clients).toBe(10_000);
  });
});
