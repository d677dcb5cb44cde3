import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError, type MaskError } from 'graphql-yoga';
import { InputError } from '../input.js';
import { BudgetExceededError } from '../security/budget.js';
import { UpstreamError, type UpstreamErrorCode } from '../upstream/errors.js';

/** The codes clients see in `extensions.code`. */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'UPSTREAM_UNAUTHORIZED'
  | 'UPSTREAM_RATE_LIMITED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_OVERLOADED'
  | 'QUERY_TOO_COMPLEX'
  | 'TOO_MANY_SUBSCRIPTIONS'
  /** A subscription sent by a client that does not accept a stream. */
  | 'BAD_REQUEST'
  | 'SHUTTING_DOWN';

const UPSTREAM_CODES: Readonly<Record<UpstreamErrorCode, ErrorCode>> = {
  UPSTREAM_NOT_FOUND: 'NOT_FOUND',
  // The gateway validates what it sends; a 422 left over is about values the client chose.
  UPSTREAM_INVALID_REQUEST: 'BAD_USER_INPUT',
  UPSTREAM_UNAUTHORIZED: 'UPSTREAM_UNAUTHORIZED',
  UPSTREAM_RATE_LIMITED: 'UPSTREAM_RATE_LIMITED',
  UPSTREAM_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
  UPSTREAM_BAD_RESPONSE: 'UPSTREAM_UNAVAILABLE',
  UPSTREAM_TIMEOUT: 'UPSTREAM_TIMEOUT',
  // Not called at all: the upstream is failing (the client sees why in `reason`).
  UPSTREAM_CIRCUIT_OPEN: 'UPSTREAM_UNAVAILABLE',
  // Not called at all: the gateway's own bound on waiting upstream calls is reached.
  UPSTREAM_OVERLOADED: 'UPSTREAM_OVERLOADED',
};

export function notFound(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'NOT_FOUND' } });
}

/**
 * The single mapping from the gateway's typed errors to client-facing GraphQL errors. Anything
 * else is masked by yoga (message replaced, no stack) unless in development.
 */
export const maskError: MaskError = (error, message, isDev) => {
  const located = error instanceof GraphQLError ? error : undefined;
  const original = located === undefined ? error : located.originalError;
  const mapped = describe(original);
  if (mapped === undefined) return yogaMaskError(error, message, isDev);
  return new GraphQLError(mapped.message, {
    nodes: located?.nodes,
    source: located?.source,
    positions: located?.positions,
    path: located?.path,
    extensions: mapped.extensions,
  });
};

/** Errors the gateway anticipates (bad input, upstream failures): mapped, never logged as faults. */
export function isExpectedError(error: unknown): boolean {
  const original = error instanceof GraphQLError && error.originalError !== undefined ? error.originalError : error;
  return original instanceof GraphQLError || describe(original) !== undefined;
}

function describe(error: unknown): { message: string; extensions: Record<string, unknown> } | undefined {
  if (error instanceof InputError) return { message: error.message, extensions: { code: 'BAD_USER_INPUT' } };
  if (error instanceof BudgetExceededError) return { message: error.message, extensions: { code: 'QUERY_TOO_COMPLEX' } };
  if (!(error instanceof UpstreamError)) return undefined;
  const extensions: Record<string, unknown> = { code: UPSTREAM_CODES[error.code] };
  if (error.code === 'UPSTREAM_CIRCUIT_OPEN') extensions['reason'] = 'CIRCUIT_OPEN';
  if (error.retryAfterSeconds !== undefined) extensions['retryAfter'] = error.retryAfterSeconds;
  return { message: error.message, extensions };
}
