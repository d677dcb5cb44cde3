import { loadPersistedOperations } from './security/persisted-operations.js';
import { Secret } from './secret.js';

export type Mode = 'production' | 'development' | 'local';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type Region = 'us' | 'eu' | 'in';

/** Residency servers, as listed in the upstream's OpenAPI `servers`. */
export const REGION_BASE_URLS: Readonly<Record<Region, string>> = {
  us: 'https://api.us.elevenlabs.io',
  eu: 'https://api.eu.residency.elevenlabs.io',
  in: 'https://api.in.residency.elevenlabs.io',
};
export const DEFAULT_BASE_URL = 'https://api.elevenlabs.io';

export interface UpstreamConfig {
  /** Origin of the REST API, without a trailing slash. */
  readonly baseUrl: string;
  /** Unset in demo mode, where main.ts supplies the embedded simulator's key. */
  readonly apiKey: Secret | undefined;
  /** TCP + TLS connect. Default 2 000 ms. */
  readonly connectTimeoutMs: number;
  /** Per attempt: from asking for a connection to the last body byte. Default 10 000 ms. */
  readonly timeoutMs: number;
  /** Longest silence between two chunks of a response body. Default 5 000 ms. */
  readonly bodyTimeoutMs: number;
  /** Upstream calls in flight at once, across all requests. Default 4 (plans allow 2 to 15). */
  readonly maxConcurrency: number;
  /** Calls that may wait for a free connection before new ones fail fast. Default 100. */
  readonly maxQueue: number;
  /** Extra attempts for idempotent GETs after a connection error, 5xx or 429. Default 2. */
  readonly maxRetries: number;
  /** Cross-request cache of upstream responses; undefined when CACHE_ENABLED=false. */
  readonly cache: {
    /** Bound on the bodies held (response bytes). Default 64 MiB. */
    readonly maxBytes: number;
    readonly ttls: { readonly terminalMs: number; readonly activeMs: number; readonly listMs: number };
  } | undefined;
  readonly circuit: {
    /** Consecutive unhealthy failures (5xx, connection error, timeout) that open it. Default 5. */
    readonly failureThreshold: number;
    /** First open period before a probe; doubles per failed probe. Default 5 000 ms. */
    readonly openMs: number;
    /** Longest open period. Default 60 000 ms. */
    readonly maxOpenMs: number;
  };
}

export interface JwtConfig {
  /** HS256 shared secret; exclusive with `jwksUrl`. */
  readonly secret: Secret | undefined;
  /** JWKS endpoint of the app's auth system (RS256, ES256, EdDSA...). */
  readonly jwksUrl: string | undefined;
  readonly issuer: string;
  readonly audience: string;
}

export interface QueryLimits {
  readonly depth: number;
  readonly aliases: number;
  readonly tokens: number;
  readonly directives: number;
  /** GraphQL Armor's structural cost. */
  readonly cost: number;
  /** Upstream calls one operation may need (estimated before it runs, enforced while it runs). */
  readonly upstreamCalls: number;
}

export interface SecurityConfig {
  /** Static bearer tokens for server-side jobs. */
  readonly tokens: readonly Secret[];
  readonly jwt: JwtConfig | undefined;
  /** Requests without credentials are served (as `anonymous`, rate limited by address). */
  readonly allowAnonymous: boolean;
  /** Per client identity: `max` requests per `windowMs`; max 0 turns it off. */
  readonly rateLimit: { readonly max: number; readonly windowMs: number };
  readonly limits: QueryLimits;
  /** Largest request body accepted (POST needs a Content-Length). */
  readonly maxBodyBytes: number;
  /** Browser origins allowed by CORS; empty = no CORS headers at all. */
  readonly corsOrigins: readonly string[];
  readonly introspection: boolean;
  /** Strip "Did you mean ...?" from validation errors. */
  readonly blockFieldSuggestions: boolean;
  /** Operations per batched request; 0 = batching off. */
  readonly batchingLimit: number;
  /** Allow-list of operations by id, loaded from a JSON file. */
  readonly persistedOperations: { readonly operations: ReadonlyMap<string, string>; readonly allowArbitrary: boolean } | undefined;
}

/** Dashboards' aggregates and filters: how far they may read the upstream list. */
export interface AggregatesConfig {
  /** Upstream list pages one filtered `batchCalls` (or `Agent.batchCalls`) field may read. Default 10. */
  readonly filterPageBudget: number;
  /** Upstream list pages one `batchCallsSummary` may read. Default 20. */
  readonly summaryPageBudget: number;
  /** How long a summary is reused for identical arguments; 0 = not cached. Default 10 000 ms. */
  readonly summaryTtlMs: number;
}

/** `batchCallUpdated` subscriptions: one shared upstream poll per watched batch. */
export interface LiveConfig {
  /** Time between two polls of a watched batch. Default 2 000 ms. */
  readonly pollIntervalMs: number;
  /** Longest wait between polls while the upstream fails (the interval doubles per failure). Default 60 000 ms. */
  readonly maxBackoffMs: number;
  /** Distinct batches watched at once, across all clients. Default 100. */
  readonly maxBatches: number;
  /** Open subscriptions at once, across all clients. Default 1 000. */
  readonly maxSubscriptions: number;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly mode: Mode;
  /** No API key: serve the embedded simulator's data. Never in production. */
  readonly demo: boolean;
  readonly upstream: UpstreamConfig;
  readonly logLevel: LogLevel;
  readonly graphiql: boolean;
  readonly security: SecurityConfig;
  /** Serve Prometheus metrics on GET /metrics. Default true. */
  readonly metrics: boolean;
  /** Serve plain JSON queries through the compiled fast path (yoga for the rest). Default true. */
  readonly fastPath: boolean;
  /** On SIGTERM/SIGINT, how long in-flight requests may take to finish. Default 20 000 ms (over OPERATION_TIMEOUT_MS). */
  readonly shutdownGraceMs: number;
  /** Time budget of one GraphQL operation, upstream retries included. Default 15 000 ms. */
  readonly operationTimeoutMs: number;
  readonly aggregates: AggregatesConfig;
  readonly live: LiveConfig;
}

export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads and validates the environment once; throws one ConfigError naming every bad variable. */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
    return fallback;
  };

  const bool = (name: string, fallback: boolean): boolean => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };

  const nodeEnv = read('NODE_ENV');
  const mode: Mode = nodeEnv === 'production' ? 'production' : nodeEnv === 'development' ? 'development' : 'local';
  const rawKey = read('ELEVENLABS_API_KEY');
  const apiKey = rawKey === undefined ? undefined : new Secret(rawKey);
  if (apiKey === undefined && mode === 'production') {
    problems.push('ELEVENLABS_API_KEY is required when NODE_ENV=production (demo mode is refused in production)');
  }

  const baseUrl = readBaseUrl(read('ELEVENLABS_BASE_URL'), read('ELEVENLABS_REGION'), mode, problems);

  const config: Config = {
    port: int('PORT', 4000, 0, 65535),
    host: read('HOST') ?? '0.0.0.0',
    mode,
    demo: apiKey === undefined,
    upstream: {
      baseUrl,
      apiKey,
      connectTimeoutMs: int('UPSTREAM_CONNECT_TIMEOUT_MS', 2_000, 50, 60_000),
      timeoutMs: int('UPSTREAM_TIMEOUT_MS', 10_000, 100, 600_000),
      bodyTimeoutMs: int('UPSTREAM_BODY_TIMEOUT_MS', 5_000, 100, 600_000),
      maxConcurrency: int('UPSTREAM_MAX_CONCURRENCY', 4, 1, 256),
      maxQueue: int('UPSTREAM_MAX_QUEUE', 100, 0, 100_000),
      maxRetries: int('UPSTREAM_MAX_RETRIES', 2, 0, 10),
      cache: bool('CACHE_ENABLED', true)
        ? {
          maxBytes: int('CACHE_MAX_BYTES', 64 * 1024 * 1024, 1_024, 8 * 1024 * 1024 * 1024),
          ttls: {
            terminalMs: int('CACHE_TTL_TERMINAL_MS', 300_000, 0, 86_400_000),
            activeMs: int('CACHE_TTL_ACTIVE_MS', 2_000, 0, 86_400_000),
            listMs: int('CACHE_TTL_LIST_MS', 2_000, 0, 86_400_000),
          },
        }
        : undefined,
      circuit: {
        failureThreshold: int('CIRCUIT_FAILURE_THRESHOLD', 5, 1, 1000),
        openMs: int('CIRCUIT_OPEN_MS', 5_000, 10, 600_000),
        maxOpenMs: int('CIRCUIT_MAX_OPEN_MS', 60_000, 10, 3_600_000),
      },
    },
    logLevel: oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    graphiql: bool('GATEWAY_GRAPHIQL', mode !== 'production'),
    security: readSecurity(read, int, bool, mode, problems),
    metrics: bool('GATEWAY_METRICS', true),
    fastPath: bool('GATEWAY_FAST_PATH', true),
    shutdownGraceMs: int('SHUTDOWN_GRACE_MS', 20_000, 0, 600_000),
    operationTimeoutMs: int('OPERATION_TIMEOUT_MS', 15_000, 100, 600_000),
    aggregates: {
      filterPageBudget: int('FILTER_PAGE_BUDGET', 10, 1, 1_000),
      summaryPageBudget: int('SUMMARY_PAGE_BUDGET', 20, 1, 1_000),
      summaryTtlMs: int('SUMMARY_CACHE_TTL_MS', 10_000, 0, 3_600_000),
    },
    live: {
      pollIntervalMs: int('LIVE_POLL_INTERVAL_MS', 2_000, 10, 3_600_000),
      maxBackoffMs: int('LIVE_POLL_MAX_BACKOFF_MS', 60_000, 10, 3_600_000),
      maxBatches: int('LIVE_MAX_BATCHES', 100, 1, 100_000),
      maxSubscriptions: int('LIVE_MAX_SUBSCRIPTIONS', 1_000, 1, 1_000_000),
    },
  };
  if (config.upstream.circuit.maxOpenMs < config.upstream.circuit.openMs) {
    problems.push('CIRCUIT_MAX_OPEN_MS must be at least CIRCUIT_OPEN_MS');
  }
  if (config.live.maxBackoffMs < config.live.pollIntervalMs) {
    problems.push('LIVE_POLL_MAX_BACKOFF_MS must be at least LIVE_POLL_INTERVAL_MS');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

type Reader = (name: string) => string | undefined;
type IntReader = (name: string, fallback: number, min: number, max: number) => number;
type BoolReader = (name: string, fallback: boolean) => boolean;

function readSecurity(read: Reader, int: IntReader, bool: BoolReader, mode: Mode, problems: string[]): SecurityConfig {
  const production = mode === 'production';
  const tokens = (read('GATEWAY_API_TOKENS') ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (tokens.some((t) => t.length < 16)) problems.push('GATEWAY_API_TOKENS: every token must be at least 16 characters');

  const jwtSecret = read('GATEWAY_JWT_SECRET');
  const jwksUrl = read('GATEWAY_JWKS_URL');
  const issuer = read('GATEWAY_JWT_ISSUER');
  const audience = read('GATEWAY_JWT_AUDIENCE');
  let jwt: JwtConfig | undefined;
  if (jwtSecret !== undefined || jwksUrl !== undefined) {
    if (jwtSecret !== undefined && jwksUrl !== undefined) problems.push('set only one of GATEWAY_JWT_SECRET and GATEWAY_JWKS_URL');
    if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret) < 32) {
      problems.push('GATEWAY_JWT_SECRET must be at least 32 bytes (HS256)');
    }
    if (jwksUrl !== undefined && !isHttpUrl(jwksUrl, production)) {
      problems.push(production ? 'GATEWAY_JWKS_URL must be an https URL' : 'GATEWAY_JWKS_URL must be an http(s) URL');
    }
    if (issuer === undefined) problems.push('GATEWAY_JWT_ISSUER is required when JWTs are accepted');
    if (audience === undefined) problems.push('GATEWAY_JWT_AUDIENCE is required when JWTs are accepted');
    jwt = {
      secret: jwtSecret === undefined ? undefined : new Secret(jwtSecret),
      jwksUrl,
      issuer: issuer ?? '',
      audience: audience ?? '',
    };
  }
  const authConfigured = tokens.length > 0 || jwt !== undefined;
  // Default: anonymous only outside production and only when no authentication is configured.
  const allowAnonymous = bool('GATEWAY_ALLOW_ANONYMOUS', !production && !authConfigured);
  if (production && !authConfigured && !allowAnonymous) {
    problems.push('client authentication is required when NODE_ENV=production: set GATEWAY_API_TOKENS or GATEWAY_JWT_SECRET/GATEWAY_JWKS_URL (or GATEWAY_ALLOW_ANONYMOUS=true)');
  }

  const corsOrigins = (read('GATEWAY_CORS_ORIGINS') ?? '').split(',').map((o) => o.trim()).filter((o) => o !== '');
  for (const origin of corsOrigins) {
    if (!isOrigin(origin)) problems.push(`GATEWAY_CORS_ORIGINS: "${origin}" is not an origin such as https://app.example.com`);
  }

  const persistedFile = read('GATEWAY_PERSISTED_OPERATIONS_FILE');
  return {
    tokens: tokens.map((t) => new Secret(t)),
    jwt,
    allowAnonymous,
    rateLimit: { max: int('RATE_LIMIT_MAX', 600, 0, 1_000_000), windowMs: int('RATE_LIMIT_WINDOW_MS', 60_000, 100, 86_400_000) },
    limits: {
      depth: int('QUERY_MAX_DEPTH', 12, 1, 100),
      aliases: int('QUERY_MAX_ALIASES', 15, 0, 1000),
      tokens: int('QUERY_MAX_TOKENS', 2_000, 10, 100_000),
      directives: int('QUERY_MAX_DIRECTIVES', 20, 0, 1000),
      cost: int('QUERY_MAX_COST', 5_000, 1, 10_000_000),
      upstreamCalls: int('QUERY_MAX_UPSTREAM_CALLS', 50, 1, 10_000),
    },
    maxBodyBytes: int('GATEWAY_MAX_BODY_BYTES', 102_400, 1_024, 10_485_760),
    corsOrigins,
    introspection: bool('GATEWAY_INTROSPECTION', !production),
    blockFieldSuggestions: production,
    batchingLimit: int('GATEWAY_BATCHING_LIMIT', 0, 0, 100),
    persistedOperations: persistedFile === undefined
      ? undefined
      : { operations: readPersisted(persistedFile, problems), allowArbitrary: bool('GATEWAY_ALLOW_ARBITRARY_OPERATIONS', false) },
  };
}

function readPersisted(file: string, problems: string[]): ReadonlyMap<string, string> {
  try {
    return loadPersistedOperations(file);
  } catch (error) {
    problems.push((error as Error).message);
    return new Map();
  }
}

function isHttpUrl(raw: string, httpsOnly: boolean): boolean {
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' || (!httpsOnly && url.protocol === 'http:');
  } catch {
    return false;
  }
}

function isOrigin(raw: string): boolean {
  try {
    const url = new URL(raw);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === raw;
  } catch {
    return false;
  }
}

function readBaseUrl(raw: string | undefined, region: string | undefined, mode: Mode, problems: string[]): string {
  if (raw !== undefined && region !== undefined) {
    problems.push('set only one of ELEVENLABS_BASE_URL and ELEVENLABS_REGION');
    return DEFAULT_BASE_URL;
  }
  if (region !== undefined) {
    if (Object.hasOwn(REGION_BASE_URLS, region)) return REGION_BASE_URLS[region as Region];
    problems.push(`ELEVENLABS_REGION must be one of ${Object.keys(REGION_BASE_URLS).join(', ')} (got "${region}")`);
    return DEFAULT_BASE_URL;
  }
  if (raw === undefined) return DEFAULT_BASE_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push('ELEVENLABS_BASE_URL must be an absolute http(s) URL');
    return DEFAULT_BASE_URL;
  }
  // The gateway appends fixed paths to an origin; anything else in the URL would be ignored or leak.
  if (!['http:', 'https:'].includes(url.protocol) || url.username !== '' || url.password !== '' ||
      url.search !== '' || url.hash !== '' || (url.pathname !== '/' && url.pathname !== '')) {
    problems.push('ELEVENLABS_BASE_URL must be a bare origin such as https://api.elevenlabs.io (no path, query or credentials)');
    return DEFAULT_BASE_URL;
  }
  if (mode === 'production' && url.protocol === 'http:' && !isLoopback(url.hostname)) {
    problems.push('ELEVENLABS_BASE_URL must use https in production (the API key travels in a header)');
  }
  return url.origin;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
