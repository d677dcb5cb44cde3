import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError, type CircuitBreakerOptions, type CircuitState } from '../../src/upstream/circuit-breaker.js';

/** A breaker on a clock that only moves when told to, recording every state change. */
function setup(options: Partial<CircuitBreakerOptions> = {}) {
  let now = 1_000_000;
  const changes: Array<[CircuitState, CircuitState]> = [];
  const breaker = new CircuitBreaker({
    failureThreshold: 3,
    openMs: 1_000,
    maxOpenMs: 5_000,
    now: () => now,
    onStateChange: (state, previous) => changes.push([state, previous]),
    ...options,
  });
  return {
    breaker,
    changes,
    advance: (ms: number) => {
      now += ms;
    },
    fail: (times = 1) => {
      for (let i = 0; i < times; i += 1) breaker.enter().failure();
    },
  };
}

/** The CircuitOpenError `enter()` throws, or a test failure when it lets the call through. */
function rejection(breaker: CircuitBreaker): CircuitOpenError {
  try {
    const ticket = breaker.enter();
    ticket.release();
  } catch (error) {
    if (error instanceof CircuitOpenError) return error;
    throw error;
  }
  throw new Error('expected the circuit to reject the call');
}

describe('CircuitBreaker: closed → open', () => {
  it('opens after `failureThreshold` consecutive failures, not before', () => {
    const { breaker, fail, changes } = setup();
    fail(2);
    expect(breaker.state).toBe('closed');
    expect(() => breaker.enter().release()).not.toThrow();
    fail(1);
    expect(breaker.state).toBe('open');
    expect(changes).toEqual([['open', 'closed']]);
  });

  it('a success resets the count of consecutive failures', () => {
    const { breaker, fail } = setup();
    fail(2);
    breaker.enter().success();
    fail(2);
    expect(breaker.state).toBe('closed');
    fail(1);
    expect(breaker.state).toBe('open');
  });

  it('a release (no verdict) neither counts nor resets', () => {
    const { breaker, fail } = setup();
    fail(2);
    breaker.enter().release();
    breaker.enter().release();
    expect(breaker.state).toBe('closed');
    fail(1);
    expect(breaker.state).toBe('open');
  });

  it('a ticket settles once: a second verdict on the same ticket is ignored', () => {
    const { breaker } = setup();
    const ticket = breaker.enter();
    ticket.failure();
    ticket.failure();
    ticket.failure();
    expect(breaker.state).toBe('closed');
    const other = breaker.enter();
    other.failure();
    other.success(); // too late: the failure stands
    breaker.enter().failure();
    expect(breaker.state).toBe('open');
  });

  it('with a threshold of 1, the first failure opens it', () => {
    const { breaker, fail } = setup({ failureThreshold: 1 });
    fail(1);
    expect(breaker.state).toBe('open');
  });
});

describe('CircuitBreaker: open', () => {
  it('rejects every call with CircuitOpenError carrying the time left until a probe', () => {
    const { breaker, fail, advance } = setup();
    fail(3);
    const first = rejection(breaker);
    expect(first).toBeInstanceOf(CircuitOpenError);
    expect(first.retryAfterMs).toBe(1_000);
    advance(400);
    expect(rejection(breaker).retryAfterMs).toBe(600);
    advance(599);
    expect(rejection(breaker).retryAfterMs).toBe(1);
    expect(breaker.state).toBe('open');
  });

  it('the state getter reads half_open once the open period is over, before any call', () => {
    const { breaker, fail, advance, changes } = setup();
    fail(3);
    advance(999);
    expect(breaker.state).toBe('open');
    advance(1);
    expect(breaker.state).toBe('half_open');
    // Reading the state is not a transition: listeners hear of half_open when a call enters.
    expect(changes).toEqual([['open', 'closed']]);
  });
});

describe('CircuitBreaker: half-open', () => {
  it('admits exactly one probe; the others fail fast until it settles', () => {
    const { breaker, fail, advance, changes } = setup();
    fail(3);
    advance(1_000);
    const probe = breaker.enter();
    expect(probe.probe).toBe(true);
    expect(changes.at(-1)).toEqual(['half_open', 'open']);
    for (let i = 0; i < 5; i += 1) {
      const error = rejection(breaker);
      expect(error.retryAfterMs).toBeGreaterThan(0);
      expect(error.retryAfterMs).toBeLessThanOrEqual(1_000);
    }
    expect(breaker.state).toBe('half_open');
    probe.success();
    expect(breaker.state).toBe('closed');
  });

  it('a successful probe closes the circuit and resets the failure count', () => {
    const { breaker, fail, advance } = setup();
    fail(3);
    advance(1_000);
    breaker.enter().success();
    expect(breaker.state).toBe('closed');
    const ticket = breaker.enter();
    expect(ticket.probe).toBe(false);
    ticket.release();
    fail(2);
    expect(breaker.state).toBe('closed');
    fail(1);
    expect(breaker.state).toBe('open');
  });

  it('a failed probe reopens the circuit for twice as long, capped at maxOpenMs', () => {
    const { breaker, fail, advance } = setup({ openMs: 1_000, maxOpenMs: 5_000 });
    fail(3);
    const periods: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      advance(rejection(breaker).retryAfterMs);
      breaker.enter().failure(); // the probe fails
      const reopened = rejection(breaker).retryAfterMs;
      periods.push(reopened);
    }
    expect(periods).toEqual([2_000, 4_000, 5_000, 5_000, 5_000]);
  });

  it('a doubled open period really holds: still rejecting at 1.5× the first period', () => {
    const { breaker, fail, advance } = setup();
    fail(3);
    advance(1_000);
    breaker.enter().failure();
    advance(1_500);
    expect(breaker.state).toBe('open');
    expect(rejection(breaker).retryAfterMs).toBe(500);
    advance(500);
    expect(breaker.enter().probe).toBe(true);
  });

  it('a successful probe resets the open period to openMs', () => {
    const { breaker, fail, advance } = setup();
    fail(3);
    advance(1_000);
    breaker.enter().failure(); // open for 2 000
    advance(2_000);
    breaker.enter().failure(); // open for 4 000
    advance(4_000);
    breaker.enter().success();
    expect(breaker.state).toBe('closed');
    fail(3);
    expect(rejection(breaker).retryAfterMs).toBe(1_000);
  });

  it('release() of the probe gives no verdict: the circuit stays half-open and the next call probes', () => {
    const { breaker, fail, advance, changes } = setup();
    fail(3);
    advance(1_000);
    const probe = breaker.enter();
    probe.release();
    expect(breaker.state).toBe('half_open');
    const next = breaker.enter();
    expect(next.probe).toBe(true);
    // Meanwhile the one-probe rule still holds.
    expect(() => breaker.enter()).toThrow(CircuitOpenError);
    next.success();
    expect(breaker.state).toBe('closed');
    expect(changes).toEqual([
      ['open', 'closed'],
      ['half_open', 'open'],
      ['closed', 'half_open'],
    ]);
  });

  it('onStateChange reports every transition in order: closed → open → half_open → open → half_open → closed', () => {
    const { breaker, fail, advance, changes } = setup();
    fail(3);
    advance(1_000);
    breaker.enter().failure();
    advance(2_000);
    breaker.enter().success();
    expect(changes).toEqual([
      ['open', 'closed'],
      ['half_open', 'open'],
      ['open', 'half_open'],
      ['half_open', 'open'],
      ['closed', 'half_open'],
    ]);
  });
});

describe('CircuitBreaker: late settlements of tickets issued before it opened', () => {
  it('a late failure while open neither extends the open period nor reopens it later', () => {
    const { breaker, fail, advance } = setup();
    const slow = [breaker.enter(), breaker.enter(), breaker.enter()];
    fail(3);
    advance(300);
    for (const ticket of slow) ticket.failure();
    expect(rejection(breaker).retryAfterMs).toBe(700);
    advance(700);
    const probe = breaker.enter();
    expect(probe.probe).toBe(true);
    probe.success();
    expect(breaker.state).toBe('closed');
  });

  it('a late success while open does not close the circuit or let calls through', () => {
    const { breaker, fail, advance } = setup();
    const slow = breaker.enter();
    fail(3);
    advance(100);
    slow.success();
    expect(breaker.state).toBe('open');
    expect(rejection(breaker).retryAfterMs).toBe(900);
  });

  it('late failures while a probe is in flight neither reopen the circuit nor free the probe slot', () => {
    const { breaker, fail, advance, changes } = setup();
    const slow = [breaker.enter(), breaker.enter(), breaker.enter()]; // as many as the threshold
    fail(3);
    advance(1_000);
    const probe = breaker.enter();
    for (const ticket of slow) ticket.failure();
    expect(breaker.state).toBe('half_open');
    expect(() => breaker.enter()).toThrow(CircuitOpenError);
    probe.success();
    expect(breaker.state).toBe('closed');
    expect(changes.map(([state]) => state)).toEqual(['open', 'half_open', 'closed']);
  });

  it('a late release, at any point, changes nothing', () => {
    const { breaker, fail, advance } = setup();
    const slow = [breaker.enter(), breaker.enter()];
    fail(3);
    slow[0]?.release();
    expect(rejection(breaker).retryAfterMs).toBe(1_000);
    advance(1_000);
    const probe = breaker.enter();
    slow[1]?.release();
    expect(() => breaker.enter()).toThrow(CircuitOpenError);
    probe.failure();
    expect(rejection(breaker).retryAfterMs).toBe(2_000);
  });
});

describe('CircuitBreaker: verdicts only count in the period their call was issued in', () => {
  it('failures of calls from before an open, settling after the circuit closed again, do not count', () => {
    const { breaker, advance, fail } = setup();
    const stale = [breaker.enter(), breaker.enter()];
    fail(3); // opens
    advance(1_000);
    breaker.enter().success(); // probe closes it
    expect(breaker.state).toBe('closed');
    for (const ticket of stale) ticket.failure();
    fail(2);
    expect(breaker.state).toBe('closed'); // 2 new failures, under the threshold of 3
    fail(1);
    expect(breaker.state).toBe('open');
  });

  it('a stale success while a probe is in flight does not close the circuit', () => {
    const { breaker, advance, fail, changes } = setup();
    const stale = breaker.enter();
    fail(3);
    advance(1_000);
    const probe = breaker.enter();
    expect(probe.probe).toBe(true);
    stale.success();
    expect(breaker.state).toBe('half_open');
    probe.failure();
    expect(breaker.state).toBe('open');
    expect(changes.map(([state]) => state)).toEqual(['open', 'half_open', 'open']);
  });
});
