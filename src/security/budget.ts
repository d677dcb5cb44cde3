/** The operation reached its upstream-call budget: the call was not made. */
export class BudgetExceededError extends Error {
  override readonly name = 'BudgetExceededError';
}

/**
 * The run-time half of the fan-out limit: each upstream call an operation makes (retries aside)
 * spends one unit; past the limit, calls are refused instead of made. The estimate checked before
 * execution (upstream-cost.ts) should make this unreachable; this is the guarantee if it is not.
 */
export class UpstreamBudget {
  readonly #limit: number;
  #spent = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get spent(): number {
    return this.#spent;
  }

  /** A new allowance, for the next event of a subscription (each event is priced like one operation). */
  renew(): void {
    this.#spent = 0;
  }

  spend(): void {
    if (this.#spent >= this.#limit) {
      throw new BudgetExceededError(`This operation reached its limit of ${this.#limit} upstream calls`);
    }
    this.#spent += 1;
  }
}
