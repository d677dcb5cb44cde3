/** The polling rhythm of one watched batch. */
export interface PollRhythm {
  /** Between two polls while the upstream answers. */
  intervalMs: number;
  /** The longest wait while it fails. */
  maxBackoffMs: number;
}

/**
 * The wait before the next poll of a batch after `failures` consecutive failed polls (0 after a
 * success): the interval, doubled per failure up to the maximum. A `Retry-After` the upstream
 * sent (a 429) is honoured when it asks for longer, within the same maximum.
 */
export function pollDelay(rhythm: PollRhythm, failures: number, retryAfterMs?: number): number {
  const { intervalMs, maxBackoffMs } = rhythm;
  const cap = Math.max(intervalMs, maxBackoffMs);
  // 2 ** 40 is far past any cap; bounding the exponent keeps the product finite.
  const backoff = failures <= 0 ? intervalMs : Math.min(cap, intervalMs * 2 ** Math.min(failures, 40));
  return retryAfterMs === undefined ? backoff : Math.max(backoff, Math.min(cap, retryAfterMs));
}
