/**
 * A circuit breaker for one upstream. Closed: calls pass, consecutive health failures are counted.
 * Open (after `failureThreshold` of them): calls fail at once, for `openMs`. Half-open: one probe
 * call passes while the others still fail fast; its success closes the circuit, its failure opens
 * it again for twice as long (up to `maxOpenMs`).
 *
 * Unlike breakers that queue callers behind the probe, nobody waits here: a frontend gets a fast
 * UPSTREAM_UNAVAILABLE with a retry hint instead of a request hung on a dead upstream.
 */

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitBreakerOptions {
  failureThreshold: number;
  openMs: number;
  maxOpenMs: number;
  now?: () => number;
  onStateChange?: (state: CircuitState, previous: CircuitState) => void;
}

/** Permission for one call; settle it exactly once with its outcome. */
export interface CircuitTicket {
  readonly probe: boolean;
  success(): void;
  /** A failure that says the upstream is unhealthy (5xx, connection error, timeout). */
  failure(): void;
  /** The call ended without a verdict on upstream health (4xx, cancelled by the caller). */
  release(): void;
}

export class CircuitOpenError extends Error {
  override readonly name = 'CircuitOpenError';
  /** How long until the next probe may run. */
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number) {
    super('circuit open');
    this.retryAfterMs = retryAfterMs;
  }
}

export class CircuitBreaker {
  readonly #options: Required<Omit<CircuitBreakerOptions, 'onStateChange'>> & Pick<CircuitBreakerOptions, 'onStateChange'>;
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #openFor: number;
  #probing = false;
  /** Bumped on every state change: a ticket's verdict only counts in the period it was issued in. */
  #epoch = 0;

  constructor(options: CircuitBreakerOptions) {
    this.#options = { now: () => Date.now(), ...options };
    this.#openFor = options.openMs;
  }

  /** The state as of now (an open circuit whose time is up reads as half-open). */
  get state(): CircuitState {
    if (this.#state === 'open' && this.#remaining() <= 0) return 'half_open';
    return this.#state;
  }

  /** A ticket for one call, or CircuitOpenError thrown when the call must not go out. */
  enter(): CircuitTicket {
    if (this.#state === 'open') {
      const remaining = this.#remaining();
      if (remaining > 0) throw new CircuitOpenError(remaining);
      this.#transition('half_open');
    }
    if (this.#state === 'half_open') {
      // One probe at a time; the others fail fast until it settles.
      if (this.#probing) throw new CircuitOpenError(Math.min(1000, this.#openFor));
      this.#probing = true;
      return this.#ticket(true);
    }
    return this.#ticket(false);
  }

  #ticket(probe: boolean): CircuitTicket {
    let settled = false;
    const epoch = this.#epoch;
    const settle = (outcome: 'success' | 'failure' | 'none'): void => {
      if (settled) return;
      settled = true;
      if (probe) this.#probing = false;
      // A call issued before the circuit last changed state says nothing about it now.
      if (epoch !== this.#epoch) return;
      if (outcome === 'success') this.#onSuccess(probe);
      else if (outcome === 'failure') this.#onFailure(probe);
    };
    return {
      probe,
      success: () => settle('success'),
      failure: () => settle('failure'),
      release: () => settle('none'),
    };
  }

  #onSuccess(probe: boolean): void {
    this.#failures = 0;
    if (probe || this.#state === 'half_open') {
      this.#openFor = this.#options.openMs;
      this.#transition('closed');
    }
  }

  #onFailure(probe: boolean): void {
    if (probe) {
      this.#openFor = Math.min(this.#options.maxOpenMs, this.#openFor * 2);
      this.#open();
      return;
    }
    if (this.#state !== 'closed') return;
    this.#failures += 1;
    if (this.#failures >= this.#options.failureThreshold) this.#open();
  }

  #open(): void {
    this.#openedAt = this.#options.now();
    this.#failures = 0;
    this.#transition('open');
  }

  #remaining(): number {
    return this.#openedAt + this.#openFor - this.#options.now();
  }

  #transition(next: CircuitState): void {
    const previous = this.#state;
    if (previous === next) return;
    this.#state = next;
    this.#epoch += 1;
    this.#options.onStateChange?.(next, previous);
  }
}
