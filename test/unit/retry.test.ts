import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, backoffDelay, parseRetryAfter } from '../../src/upstream/retry.js';

describe('backoffDelay', () => {
  const options = { baseDelayMs: 100, maxDelayMs: 2_000 };

  it('has the documented defaults', () => {
    expect(DEFAULT_BACKOFF).toEqual({ baseDelayMs: 100, maxDelayMs: 2_000 });
  });

  it.each([
    [0, 100], [1, 200], [2, 400], [3, 800], [4, 1600], [5, 2000], [6, 2000], [30, 2000], [2000, 2000],
  ])('attempt %i: equal jitter within [step/2, step] with step %i', (attempt, step) => {
    expect(backoffDelay(attempt, options, () => 0)).toBe(step / 2);
    expect(backoffDelay(attempt, options, () => 0.5)).toBe(Math.round(step * 0.75));
    expect(backoffDelay(attempt, options, () => 0.999_999)).toBe(step);
  });

  it('never exceeds the cap and never collapses to zero, for any random value', () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let attempt = 0; attempt < 40; attempt += 1) {
      const step = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** attempt);
      for (let i = 0; i < 50; i += 1) {
        const delay = backoffDelay(attempt, options, random);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(step / 2);
        expect(delay).toBeLessThanOrEqual(step);
        expect(delay).toBeGreaterThan(0);
      }
    }
  });

  it('is non-decreasing in attempt for a fixed random value', () => {
    const delays = Array.from({ length: 12 }, (_, attempt) => backoffDelay(attempt, options, () => 0.3));
    for (let i = 1; i < delays.length; i += 1) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1] as number);
    expect(delays.at(-1)).toBe(Math.round(1000 + 0.3 * 1000));
  });

  it('respects a custom cap smaller than the base', () => {
    expect(backoffDelay(0, { baseDelayMs: 500, maxDelayMs: 300 }, () => 1)).toBe(300);
    expect(backoffDelay(0, { baseDelayMs: 500, maxDelayMs: 300 }, () => 0)).toBe(150);
  });

  it('uses Math.random by default and stays in bounds', () => {
    for (let i = 0; i < 100; i += 1) {
      const delay = backoffDelay(3, options);
      expect(delay).toBeGreaterThanOrEqual(400);
      expect(delay).toBeLessThanOrEqual(800);
    }
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it.each([
    ['0', 0], ['1', 1], ['5', 5], [' 7 ', 7], ['120', 120], ['86400', 86_400], ['007', 7],
  ])('delta-seconds %j → %i', (value, seconds) => {
    expect(parseRetryAfter(value, now)).toBe(seconds);
  });

  it('takes the first of repeated headers', () => {
    expect(parseRetryAfter(['3', '9'], now)).toBe(3);
    expect(parseRetryAfter([], now)).toBeUndefined();
  });

  it('absent is undefined', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('delta-seconds above a day are capped at a day, like HTTP-dates', () => {
    expect(parseRetryAfter('86401', now)).toBe(86_400);
    expect(parseRetryAfter('99999999999999999999999', now)).toBe(86_400);
  });

  it.each(['-1', '1.5', 'foo 1', '1 2', '2001-01-01'])('refuses %j (not delta-seconds, not an HTTP-date)', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });

  it('HTTP-date in the future gives the seconds until then, rounded up', () => {
    expect(parseRetryAfter(new Date(now + 30_000).toUTCString(), now)).toBe(30);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now - 1_500)).toBe(12);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now + 9_001)).toBe(1);
  });

  it('HTTP-date in the past or now gives 0', () => {
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(new Date(now).toUTCString(), now)).toBe(0);
  });

  it('HTTP-date far in the future is capped at a day', () => {
    expect(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', now)).toBe(86_400);
  });

  it.each(['', '   ', 'abc', 'soon', '12abc', 'Mon', 'NaN', 'Infinity', 'null'])('garbage %j is undefined', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});
