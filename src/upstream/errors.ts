/**
 * Failures of the upstream REST API, with stable codes to branch on. Messages are written for the
 * gateway's clients: they never carry the API key, the upstream URL, headers or raw bodies.
 */
export type UpstreamErrorCode =
  | 'UPSTREAM_NOT_FOUND'
  | 'UPSTREAM_INVALID_REQUEST'
  | 'UPSTREAM_UNAUTHORIZED'
  | 'UPSTREAM_RATE_LIMITED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_BAD_RESPONSE'
  | 'UPSTREAM_TIMEOUT'
  /** The circuit breaker is open: the call was not made. */
  | 'UPSTREAM_CIRCUIT_OPEN'
  /** Too many upstream calls already waiting for a connection: the call was not made. */
  | 'UPSTREAM_OVERLOADED';

export interface UpstreamErrorOptions {
  status?: number | undefined;
  /** Seconds the upstream asked us to wait (429 Retry-After), when it said. */
  retryAfterSeconds?: number | undefined;
  /** How many attempts were made before giving up. */
  attempts?: number | undefined;
}

export class UpstreamError extends Error {
  readonly code: UpstreamErrorCode;
  readonly status: number | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly attempts: number;

  constructor(code: UpstreamErrorCode, message: string, options: UpstreamErrorOptions = {}) {
    super(message);
    this.name = 'UpstreamError';
    this.code = code;
    this.status = options.status;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.attempts = options.attempts ?? 1;
  }

  /** Whether another attempt of an idempotent GET may succeed. */
  get retryable(): boolean {
    return this.code === 'UPSTREAM_UNAVAILABLE' || this.code === 'UPSTREAM_RATE_LIMITED';
  }

  /** Whether this failure says the upstream is unhealthy (what the circuit breaker counts). */
  get unhealthy(): boolean {
    if (this.code === 'UPSTREAM_UNAVAILABLE' || this.code === 'UPSTREAM_TIMEOUT') return true;
    // An unreadable 2xx or 5xx body (a proxy's error page, a cut connection); not an odd 4xx.
    return this.code === 'UPSTREAM_BAD_RESPONSE' && (this.status === undefined || this.status < 400 || this.status >= 500);
  }

  withAttempts(attempts: number): UpstreamError {
    return new UpstreamError(this.code, this.message, {
      status: this.status,
      retryAfterSeconds: this.retryAfterSeconds,
      attempts,
    });
  }
}

export function isUpstreamError(value: unknown): value is UpstreamError {
  return value instanceof UpstreamError;
}

/** Builds the error for a non-2xx answer from the status and the (already parsed) error body. */
export function errorForStatus(status: number, body: unknown, retryAfterSeconds: number | undefined): UpstreamError {
  if (status === 404) return new UpstreamError('UPSTREAM_NOT_FOUND', 'Batch call not found', { status });
  if (status === 401 || status === 403) {
    return new UpstreamError(
      'UPSTREAM_UNAUTHORIZED',
      `The upstream API rejected the gateway's credentials (HTTP ${status}); the gateway is misconfigured`,
      { status },
    );
  }
  if (status === 422 || status === 400) {
    const detail = validationSummary(body);
    return new UpstreamError(
      'UPSTREAM_INVALID_REQUEST',
      detail === undefined ? 'The upstream API rejected the request' : `The upstream API rejected the request: ${detail}`,
      { status },
    );
  }
  if (status === 429) {
    const wait = retryAfterSeconds === undefined ? '' : `; retry after ${retryAfterSeconds} s`;
    return new UpstreamError('UPSTREAM_RATE_LIMITED', `The upstream API is rate limiting requests${wait}`, {
      status,
      retryAfterSeconds,
    });
  }
  if (status >= 400 && status < 500 && status !== 408) {
    // A 4xx the gateway does not expect (405, 409, 413...) will not go away on retry.
    return new UpstreamError('UPSTREAM_BAD_RESPONSE', `The upstream API refused the request (HTTP ${status})`, { status });
  }
  return new UpstreamError('UPSTREAM_UNAVAILABLE', `The upstream API is unavailable (HTTP ${status})`, { status });
}

const MAX_DETAIL_LENGTH = 200;

/**
 * The location and message of a FastAPI-style validation error (`{"detail":[{"loc","msg"}]}`),
 * trimmed. It describes the request's parameters, which came from the client, so it is safe and
 * useful to pass on; nothing else of an upstream error body is.
 */
function validationSummary(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const detail = (body as { detail?: unknown }).detail;
  if (!Array.isArray(detail)) return undefined;
  const parts = detail.slice(0, 3).flatMap((item: unknown) => {
    if (typeof item !== 'object' || item === null) return [];
    const { loc, msg } = item as { loc?: unknown; msg?: unknown };
    if (typeof msg !== 'string') return [];
    const where = Array.isArray(loc) ? loc.filter((p) => typeof p === 'string' || typeof p === 'number').join('.') : '';
    return [where === '' ? msg : `${where}: ${msg}`];
  });
  if (parts.length === 0) return undefined;
  const text = parts.join('; ').replace(/[\u0000-\u001f]/g, ' ');
  return text.length > MAX_DETAIL_LENGTH ? `${text.slice(0, MAX_DETAIL_LENGTH)}…` : text;
}
