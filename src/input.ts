/**
 * Validation of untrusted client input at the edge, before anything reaches the upstream.
 * Failures are InputErrors, which the schema reports as BAD_USER_INPUT with this message.
 */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export const PAGE_SIZE = { default: 20, min: 1, max: 100 } as const;

/** `first` of a connection: default 20, 1 to 100; out of range is an error, never a clamp. */
export function pageSize(first: number | null | undefined, argument = 'first'): number {
  if (first === null || first === undefined) return PAGE_SIZE.default;
  if (!Number.isInteger(first) || first < PAGE_SIZE.min || first > PAGE_SIZE.max) {
    throw new InputError(`\`${argument}\` must be between ${PAGE_SIZE.min} and ${PAGE_SIZE.max} (got ${first})`);
  }
  return first;
}

const UPSTREAM_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** An upstream id (batch, agent, recipient): letters, digits, `_` and `-`, at most 128 characters. */
export function upstreamId(value: string, what: string): string {
  if (!UPSTREAM_ID.test(value)) {
    throw new InputError(`${what} must be 1 to 128 letters, digits, "_" or "-"`);
  }
  return value;
}

export function isUpstreamId(value: string): boolean {
  return UPSTREAM_ID.test(value);
}

/** Path segments the batch-calling API uses for other endpoints; never a batch id. */
const RESERVED_BATCH_SEGMENTS = new Set(['workspace', 'submit']);

/** A batch id: an upstream id that cannot name another endpoint under the same path. */
export function isBatchId(value: string): boolean {
  return isUpstreamId(value) && !RESERVED_BATCH_SEGMENTS.has(value);
}

export function batchId(value: string, what: string): string {
  if (!isBatchId(value)) throw new InputError(`${what} must be an upstream batch id (letters, digits, "_" or "-", at most 128)`);
  return value;
}
