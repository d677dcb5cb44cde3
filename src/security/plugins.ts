import type { IncomingMessage } from 'node:http';
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { SecurityConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { createAuthenticator, type Identity } from './auth.js';
import { RateLimiter } from './rate-limit.js';
import { estimateUpstreamCalls } from './upstream-cost.js';

/** Headers that mark a request as not "simple" (so a browser preflighted it). Apollo's and yoga's. */
export const CSRF_HEADERS = ['x-graphql-csrf', 'x-graphql-yoga-csrf', 'apollo-require-preflight', 'x-apollo-operation-name'];

export function tooComplex(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX' } });
}

/** Who sent each request, set by the authentication plugin, read when the context is built. */
export const requestIdentity = new WeakMap<Request, Identity>();

export interface SecurityPluginOptions {
  security: SecurityConfig;
  logger: Logger;
  /** GraphiQL's page itself is served without credentials (its requests still need them). */
  graphiql: boolean;
}

/** Every request-level protection, in the order yoga must run them. */
export function securityPlugins({ security, logger, graphiql }: SecurityPluginOptions): Plugin[] {
  const plugins: Plugin[] = [authentication(security, logger, graphiql)];
  plugins.push(useCSRFPrevention({ requestHeaders: CSRF_HEADERS }));
  if (security.persistedOperations !== undefined) plugins.push(persistedOperations(security.persistedOperations, logger));
  plugins.push(...queryLimits(security));
  if (!security.introspection) plugins.push(useDisableIntrospection());
  if (security.blockFieldSuggestions) plugins.push(blockFieldSuggestionsPlugin());
  plugins.push(upstreamFanOut(security.limits.upstreamCalls));
  return plugins;
}

/**
 * Authentication and per-client rate limiting, before the body is even parsed: a request that
 * fails either gets its HTTP answer (401, 429 or 503) and nothing else happens. Every path is
 * covered (yoga also serves the endpoint as `/graphql/`, `//graphql`...); only the GraphiQL page
 * itself (a bare browser GET) and CORS preflights pass without credentials. Failed attempts are
 * rate limited per address, so tokens cannot be guessed at full speed.
 */
function authentication(security: SecurityConfig, logger: Logger, graphiql: boolean): Plugin {
  const authenticate = createAuthenticator(security);
  const limiter = security.rateLimit.max > 0 ? new RateLimiter(security.rateLimit) : undefined;
  const limited = (key: string): Response | undefined => {
    const decision = limiter?.take(key);
    if (decision === undefined || decision.allowed) return undefined;
    logger.info({ client: key, retryAfter: decision.retryAfterSeconds }, 'client rate limited');
    return errorResponse(429, `Rate limit reached: at most ${security.rateLimit.max} requests per ${security.rateLimit.windowMs / 1000} s`,
      'RATE_LIMITED', { 'retry-after': String(decision.retryAfterSeconds) }, { retryAfter: decision.retryAfterSeconds });
  };
  return {
    async onRequest({ request, url, endResponse, serverContext }) {
      if (request.method === 'OPTIONS') return;
      if (graphiql && request.method === 'GET' && url.search === '' && (request.headers.get('accept') ?? '').includes('text/html')) {
        return;
      }
      const address = (serverContext as { req?: IncomingMessage } | undefined)?.req?.socket.remoteAddress ?? 'unknown';
      const result = await authenticate(request.headers.get('authorization'), address);
      if (!result.ok) {
        logger.info({ auth: { outcome: 'rejected', reason: result.message } }, 'request not authenticated');
        const refusal = limited(`unauthenticated:${address}`);
        if (refusal !== undefined) {
          endResponse(refusal);
        } else if (result.unavailable) {
          endResponse(errorResponse(503, result.message, 'AUTH_UNAVAILABLE', { 'retry-after': '5' }, { retryAfter: 5 }));
        } else {
          endResponse(errorResponse(401, result.message, 'UNAUTHENTICATED', { 'www-authenticate': 'Bearer' }));
        }
        return;
      }
      requestIdentity.set(request, result.identity);
      const refusal = limited(result.identity.id);
      if (refusal !== undefined) endResponse(refusal);
    },
  };
}

function errorResponse(status: number, message: string, code: string, headers: Record<string, string>, extra: Record<string, unknown> = {}): Response {
  return new Response(JSON.stringify({ errors: [{ message, extensions: { code, ...extra } }] }), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** GraphQL Armor's limits, each reporting QUERY_TOO_COMPLEX instead of its generic error. */
function queryLimits(security: SecurityConfig): Plugin[] {
  const { limits } = security;
  const report = (context: ValidationContext | null, error: GraphQLError): void => {
    const message = error.message.replace(/^Syntax Error: /, '');
    // Validation-time limits report into the validation result; the token limit runs in the
    // parser, where throwing is the only way out.
    if (context === null) throw tooComplex(message);
    context.reportError(tooComplex(message));
  };
  const shared = { onReject: [report], propagateOnRejection: false };
  return [
    maxTokensPlugin({ n: limits.tokens, ...shared }),
    maxDepthPlugin({ n: limits.depth, ignoreIntrospection: true, flattenFragments: true, ...shared }),
    maxAliasesPlugin({ n: limits.aliases, ...shared }),
    maxDirectivesPlugin({ n: limits.directives, ...shared }),
    costLimitPlugin({ maxCost: limits.cost, ignoreIntrospection: true, flattenFragments: true, ...shared }),
  ];
}

/** Refuses, before execution, an operation that would need more upstream calls than allowed. */
function upstreamFanOut(limit: number): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const calls = estimateUpstreamCalls(args.document, args.operationName, args.variableValues);
      if (calls > limit) {
        setResultAndStopExecution({
          errors: [tooComplex(`This operation would need up to ${calls} upstream calls; the limit is ${limit}`)],
        });
      }
    },
  };
}

/**
 * Allow-list mode: operations are sent by id (`documentId`, or Apollo's
 * `extensions.persistedQuery.sha256Hash`) and looked up in a JSON object of id → document.
 */
function persistedOperations(options: { operations: ReadonlyMap<string, string>; allowArbitrary: boolean }, logger: Logger): Plugin {
  const store = options.operations;
  logger.info({ operations: store.size, allowArbitrary: options.allowArbitrary }, 'persisted operations loaded');
  return usePersistedOperations({
    allowArbitraryOperations: options.allowArbitrary,
    extractPersistedOperationId: (params) => {
      const raw = params as { documentId?: unknown; extensions?: { persistedQuery?: { sha256Hash?: unknown } } };
      const id = raw.documentId ?? raw.extensions?.persistedQuery?.sha256Hash;
      return typeof id === 'string' ? id : null;
    },
    getPersistedOperation: (id) => store.get(id) ?? null,
  });
}
