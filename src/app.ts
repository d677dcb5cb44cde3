import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import { createYoga, useReadinessCheck, type MaskError, type YogaServerInstance } from 'graphql-yoga';
import type { Config } from './config.js';
import { createContext, createUnknownEnumReporter, type Context } from './context.js';
import type { UnknownEnumReporter } from './model/enums.js';
import type { Services } from './services.js';
import { useStreamingSubscriptions } from './live/stream-accept.js';
import type { Logger } from './logger.js';
import { isExpectedError, maskError } from './schema/errors.js';
import type { Identity } from './security/auth.js';
import { UpstreamBudget } from './security/budget.js';
import { CSRF_HEADERS, Gatekeeper, requestIdentity, securityPlugins } from './security/plugins.js';
import { schema } from './schema/index.js';
import type { UpstreamClient } from './upstream/client.js';
import { UpstreamError } from './upstream/errors.js';

export interface AppDependencies {
  config: Config;
  upstream: UpstreamClient;
  logger: Logger;
  /** How long a readiness verdict is reused, so probes do not spend upstream rate limit. Default 10 s. */
  readinessTtlMs?: number;
  /** Shared with the fast path, so both count against the same rate limits. */
  gatekeeper?: Gatekeeper;
  reportUnknownEnum?: UnknownEnumReporter;
  services: Services;
}

/**
 * The masking of resolver errors, shared by yoga and the fast path: anticipated errors map to
 * their codes, anything else is logged once (name and message) and masked.
 */
export function createErrorMasker(logger: Logger): { mask: MaskError; logged: WeakSet<object> } {
  const logged = new WeakSet<object>();
  const mask: MaskError = (error, message, isDev) => {
    if (!isExpectedError(error)) {
      if (typeof error === 'object' && error !== null) logged.add(error);
      const original = error instanceof GraphQLError && error.originalError !== undefined ? error.originalError : error;
      // Name and message only: a stack or cause could carry request data.
      logger.error({ error: errorSummary(original) }, 'unexpected error in resolver');
    }
    return maskError(error, message, isDev);
  };
  return { mask, logged };
}

/** What node:http hands yoga as server context. */
export interface NodeServerContext {
  req: IncomingMessage;
  res: ServerResponse;
}

export type App = YogaServerInstance<NodeServerContext, Context>;

const GRAPHQL_ENDPOINT = '/graphql';
const ANONYMOUS: Identity = { kind: 'anonymous', id: 'anonymous' };
const CORS_ALLOWED_HEADERS = ['content-type', 'authorization', ...CSRF_HEADERS];

export const GRAPHIQL_DEFAULT_QUERY = `# Batch calls, newest first. Run it, then paste pageInfo.endCursor
# into $after (Variables below) to walk to the next page.
query BatchCalls($first: Int = 5, $after: String) {
  batchCalls(first: $first, after: $after) {
    edges {
      cursor
      node {
        id
        name
        agentName
        status
        totalCallsScheduled
        totalCallsDispatched
        totalCallsFinished
        createdAt
        recipients(first: 3) {
          totalCount
          edges { node { phoneNumber whatsappUserId status dynamicVariables } }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
`;

/** The GraphQL server: yoga over the Pothos schema, with health and readiness endpoints. */
export function createApp(deps: AppDependencies): App {
  const { config, upstream, logger, readinessTtlMs = 10_000 } = deps;
  const reportUnknownEnum = deps.reportUnknownEnum ?? createUnknownEnumReporter(logger);
  const gatekeeper = deps.gatekeeper ?? new Gatekeeper(config.security, logger);
  const yogaLogger = logger.child({ component: 'yoga' });
  // Errors logged by the masker already; yoga logs what it masks again, and those copies are dropped.
  const { mask: logUnexpected, logged } = createErrorMasker(logger);

  const { security } = config;
  // In allow-list mode GraphiQL could only send documents that are refused.
  const graphiql = config.graphiql && (security.persistedOperations?.allowArbitrary ?? true);
  return createYoga<NodeServerContext, Context>({
    schema,
    context: ({ request }) =>
      createContext({
        upstream,
        logger,
        reportUnknownEnum,
        call: { signal: request.signal, deadline: Date.now() + config.operationTimeoutMs },
        budget: new UpstreamBudget(security.limits.upstreamCalls),
        identity: requestIdentity.get(request) ?? ANONYMOUS,
        services: deps.services,
      }),
    graphqlEndpoint: GRAPHQL_ENDPOINT,
    // No CORS headers unless origins are configured: browsers then refuse cross-origin calls.
    cors: security.corsOrigins.length === 0
      ? false
      : { origin: [...security.corsOrigins], credentials: true, methods: ['GET', 'POST'], allowedHeaders: CORS_ALLOWED_HEADERS, maxAge: 600 },
    batching: security.batchingLimit > 0 ? { limit: security.batchingLimit } : false,
    healthCheckEndpoint: '/health',
    landingPage: false,
    maskedErrors: { maskError: logUnexpected, isDev: config.mode === 'development' },
    graphiql: graphiql ? { title: 'Batch-calling gateway', defaultQuery: GRAPHIQL_DEFAULT_QUERY } : false,
    // Yoga logs every error it masks; expected ones were mapped on purpose and unexpected ones
    // are logged above, so its copies go to debug.
    logging: {
      debug: (...args: unknown[]) => yogaLogger.debug(describeLogArg(args[0])),
      info: (...args: unknown[]) => yogaLogger.info(describeLogArg(args[0])),
      warn: (...args: unknown[]) => yogaLogger.warn(describeLogArg(args[0])),
      error: (...args: unknown[]) => {
        const [first] = args;
        if (first instanceof Error && (isExpectedError(first) || logged.has(first))) {
          yogaLogger.debug({ error: errorSummary(first) }, 'expected or already logged error');
        }
        else yogaLogger.error({ error: errorSummary(first) }, 'error in request handling');
      },
    },
    plugins: [
      useReadinessCheck({ endpoint: '/ready', check: readinessCheck(upstream, logger, readinessTtlMs) }),
      ...securityPlugins({ security, gatekeeper, logger, graphiql, budgets: config.aggregates }),
      useStreamingSubscriptions(),
    ],
  });
}

function errorSummary(value: unknown): { name: string; message: string } {
  return value instanceof Error ? { name: value.name, message: value.message } : { name: 'NonError', message: String(value).slice(0, 200) };
}

function describeLogArg(value: unknown): string {
  return value instanceof Error ? `${value.name}: ${value.message}` : String(value).slice(0, 500);
}

/**
 * Ready = the upstream answers the gateway's key and its circuit is not open. One tiny list call, its verdict reused for
 * `ttlMs` and shared by concurrent probes. The body names the failure code, never a detail.
 */
function readinessCheck(upstream: UpstreamClient, logger: Logger, ttlMs: number): () => Promise<Response> {
  type Verdict = { ready: true } | { ready: false; reason: string; cacheable: boolean };
  let cached: { at: number; verdict: Promise<Verdict> } | undefined;
  const probe = async (): Promise<Verdict> => {
    try {
      await upstream.listBatches({ limit: 1 }, { deadline: Date.now() + 5_000 });
      return { ready: true };
    } catch (error) {
      // Refused by the breaker (another call is probing): no upstream answer to remember.
      if (error instanceof UpstreamError && error.code === 'UPSTREAM_CIRCUIT_OPEN') {
        return { ready: false, reason: 'CIRCUIT_OPEN', cacheable: false };
      }
      const reason = error instanceof UpstreamError ? error.code : 'UPSTREAM_UNAVAILABLE';
      logger.warn({ reason }, 'readiness probe failed');
      return { ready: false, reason, cacheable: true };
    }
  };
  return async () => {
    // An open circuit answers at once, without spending a call on an upstream known to be failing.
    if (upstream.circuitState === 'open') {
      return Response.json({ status: 'not ready', reason: 'CIRCUIT_OPEN' }, { status: 503 });
    }
    const now = Date.now();
    if (cached === undefined || now - cached.at > ttlMs) cached = { at: now, verdict: probe() };
    const entry = cached;
    const verdict = await entry.verdict;
    if (!verdict.ready && !verdict.cacheable && cached === entry) cached = undefined;
    return verdict.ready
      ? Response.json({ status: 'ready' }, { status: 200 })
      : Response.json({ status: 'not ready', reason: verdict.reason }, { status: 503 });
  };
}
