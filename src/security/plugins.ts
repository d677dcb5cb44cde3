import type { IncomingMessage } from 'node:http';
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitPlugin, costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin, maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin, maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin, maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import {
  GraphQLError, NoSchemaIntrospectionCustomRule, specifiedRules, type ExecutionResult, type ValidationContext, type ValidationRule,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { SecurityConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { createAuthenticator, type Authenticate, type Identity } from './auth.js';
import { RateLimiter } from './rate-limit.js';
import { estimateUpstreamCalls, type ScanBudgets } from './upstream-cost.js';

/** Headers that mark a request as not "simple" (so a browser preflighted it). Apollo's and yoga's. */
export const CSRF_HEADERS = ['x-graphql-csrf', 'x-graphql-yoga-csrf', 'apollo-require-preflight', 'x-apollo-operation-name'];

export function tooComplex(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX' } });
}

/** Who sent each request, set by the authentication plugin, read when the context is built. */
export const requestIdentity = new WeakMap<Request, Identity>();

export interface SecurityPluginOptions {
  security: SecurityConfig;
  gatekeeper: Gatekeeper;
  logger: Logger;
  /** GraphiQL's page itself is served without credentials (its requests still need them). */
  graphiql: boolean;
  /** The page budgets the resolvers scan within (Config.aggregates), for the fan-out estimate. */
  budgets: ScanBudgets;
}

/** Every request-level protection, in the order yoga must run them. */
export function securityPlugins({ security, gatekeeper, logger, graphiql, budgets }: SecurityPluginOptions): Plugin[] {
  const plugins: Plugin[] = [authentication(gatekeeper, graphiql)];
  plugins.push(useCSRFPrevention({ requestHeaders: CSRF_HEADERS }));
  if (security.persistedOperations !== undefined) plugins.push(persistedOperations(security.persistedOperations, logger));
  plugins.push(...queryLimits(security));
  if (!security.introspection) plugins.push(useDisableIntrospection());
  if (security.blockFieldSuggestions) plugins.push(blockFieldSuggestionsPlugin());
  plugins.push(upstreamFanOut(security.limits.upstreamCalls, budgets));
  return plugins;
}

/** An HTTP answer that ends a request before GraphQL runs (401, 429 or 503). */
export interface Refusal {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type Admission = { ok: true; identity: Identity } | { ok: false; refusal: Refusal };

/**
 * Authentication and per-client rate limiting, shared by every way into the gateway (yoga's
 * pipeline and the fast path), so both count against the same limits. Failed attempts are rate
 * limited per address, so tokens cannot be guessed at full speed.
 */
export class Gatekeeper {
  readonly #authenticate: Authenticate;
  readonly #limiter: RateLimiter | undefined;
  readonly #security: SecurityConfig;
  readonly #logger: Logger;

  constructor(security: SecurityConfig, logger: Logger) {
    this.#security = security;
    this.#logger = logger;
    this.#authenticate = createAuthenticator(security);
    this.#limiter = security.rateLimit.max > 0 ? new RateLimiter(security.rateLimit) : undefined;
  }

  async admit(authorization: string | null, address: string): Promise<Admission> {
    const result = await this.#authenticate(authorization, address);
    if (!result.ok) {
      this.#logger.info({ auth: { outcome: 'rejected', reason: result.message } }, 'request not authenticated');
      const limited = this.#limited(`unauthenticated:${address}`);
      if (limited !== undefined) return { ok: false, refusal: limited };
      if (result.unavailable === true) {
        return { ok: false, refusal: refusal(503, result.message, 'AUTH_UNAVAILABLE', { 'retry-after': '5' }, { retryAfter: 5 }) };
      }
      return { ok: false, refusal: refusal(401, result.message, 'UNAUTHENTICATED', { 'www-authenticate': 'Bearer' }) };
    }
    const limited = this.#limited(result.identity.id);
    return limited === undefined ? { ok: true, identity: result.identity } : { ok: false, refusal: limited };
  }

  #limited(key: string): Refusal | undefined {
    const decision = this.#limiter?.take(key);
    if (decision === undefined || decision.allowed) return undefined;
    this.#logger.info({ client: key, retryAfter: decision.retryAfterSeconds }, 'client rate limited');
    const { max, windowMs } = this.#security.rateLimit;
    return refusal(429, `Rate limit reached: at most ${max} requests per ${windowMs / 1000} s`, 'RATE_LIMITED',
      { 'retry-after': String(decision.retryAfterSeconds) }, { retryAfter: decision.retryAfterSeconds });
  }
}

/**
 * The gatekeeper in yoga's pipeline, before the body is even parsed: a request it refuses gets
 * its HTTP answer and nothing else happens. Every path is covered (yoga also serves the endpoint
 * as `/graphql/`, `//graphql`...); only the GraphiQL page itself (a bare browser GET) and CORS
 * preflights pass without credentials.
 */
function authentication(gatekeeper: Gatekeeper, graphiql: boolean): Plugin {
  return {
    async onRequest({ request, url, endResponse, serverContext }) {
      if (request.method === 'OPTIONS') return;
      if (graphiql && request.method === 'GET' && url.search === '' && (request.headers.get('accept') ?? '').includes('text/html')) {
        return;
      }
      const admission = await gatekeeper.admit(request.headers.get('authorization'), remoteAddress(serverContext));
      if (!admission.ok) {
        const { status, headers, body } = admission.refusal;
        endResponse(new Response(body, { status, headers }));
        return;
      }
      requestIdentity.set(request, admission.identity);
    },
  };
}

export function remoteAddress(serverContext: unknown): string {
  return (serverContext as { req?: IncomingMessage } | undefined)?.req?.socket.remoteAddress ?? 'unknown';
}

function refusal(status: number, message: string, code: string, headers: Record<string, string>, extra: Record<string, unknown> = {}): Refusal {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify({ errors: [{ message, extensions: { code, ...extra } }] }),
  };
}

/** GraphQL Armor's options for each limit, each reporting QUERY_TOO_COMPLEX instead of its generic error. */
function limitOptions({ limits }: SecurityConfig) {
  const report = (context: ValidationContext | null, error: GraphQLError): void => {
    const message = error.message.replace(/^Syntax Error: /, '');
    // Validation-time limits report into the validation result; the token limit runs in the
    // parser, where throwing is the only way out.
    if (context === null) throw tooComplex(message);
    context.reportError(tooComplex(message));
  };
  const shared = { onReject: [report], propagateOnRejection: false };
  return {
    tokens: { n: limits.tokens, ...shared },
    depth: { n: limits.depth, ignoreIntrospection: true, flattenFragments: true, ...shared },
    aliases: { n: limits.aliases, ...shared },
    directives: { n: limits.directives, ...shared },
    cost: { maxCost: limits.cost, ignoreIntrospection: true, flattenFragments: true, ...shared },
  };
}

function queryLimits(security: SecurityConfig): Plugin[] {
  const options = limitOptions(security);
  return [
    maxTokensPlugin(options.tokens),
    maxDepthPlugin(options.depth),
    maxAliasesPlugin(options.aliases),
    maxDirectivesPlugin(options.directives),
    costLimitPlugin(options.cost),
  ];
}

/**
 * The validation rules yoga's pipeline applies, for the fast path to apply the same: graphql's
 * own, the Armor limits, and no introspection where it is off. (The token limit is a parse option.)
 */
export function validationRules(security: SecurityConfig): ValidationRule[] {
  const options = limitOptions(security);
  const rules: ValidationRule[] = [
    ...specifiedRules,
    maxDepthRule(options.depth),
    maxAliasesRule(options.aliases),
    maxDirectivesRule(options.directives),
    costLimitRule(options.cost),
  ];
  if (!security.introspection) rules.push(NoSchemaIntrospectionCustomRule);
  return rules;
}

/**
 * Refuses, before execution, an operation that would need more upstream calls than allowed. A
 * subscription is checked once, when it starts, for what each of its events costs.
 */
function upstreamFanOut(limit: number, budgets: ScanBudgets): Plugin {
  const refusal = (calls: number): ExecutionResult => ({
    errors: [tooComplex(`This operation would need up to ${calls} upstream calls; the limit is ${limit}`)],
  });
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const calls = estimateUpstreamCalls(args.document, args.operationName, args.variableValues, budgets);
      if (calls > limit) setResultAndStopExecution(refusal(calls));
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const calls = estimateUpstreamCalls(args.document, args.operationName, args.variableValues, budgets);
      if (calls > limit) setResultAndStopExecution(refusal(calls));
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
