import type { CallOptions } from './client.js';
import { UpstreamError } from './errors.js';

/** Work shared by several callers (a coalesced upstream call, a summary walk): its result and who waits for it. */
export interface SharedFlight<T> {
  promise: Promise<T>;
  waiters: number;
}

/**
 * Waits for a shared flight on behalf of one caller, who may leave early: at its deadline (with
 * UPSTREAM_TIMEOUT and `timeoutMessage`) or when its signal aborts. `onLeft` runs after a caller
 * left early and is no longer counted, so the owner can cancel the work once nobody waits.
 */
export function follow<T>(flight: SharedFlight<T>, { signal, deadline }: CallOptions, timeoutMessage: string, onLeft: () => void): Promise<T> {
  flight.waiters += 1;
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      flight.waiters -= 1;
      return true;
    };
    const leave = (error: unknown): void => {
      if (!finish()) return;
      onLeft();
      reject(error);
    };
    const onAbort = (): void => leave(signal?.reason);
    const timer = deadline === undefined
      ? undefined
      : setTimeout(() => leave(new UpstreamError('UPSTREAM_TIMEOUT', timeoutMessage)), Math.max(0, deadline - Date.now()));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted === true) onAbort();
    flight.promise.then(
      (value) => {
        if (finish()) resolve(value);
      },
      (error: unknown) => {
        if (finish()) reject(error);
      },
    );
  });
}
