import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { Logger } from '../logger.js';
import type { Secret } from '../secret.js';
import { ResponseCache, detailTtl, type CacheStats, type CacheTtls } from './cache.js';
import { CircuitBreaker, CircuitOpenError, type CircuitState, type CircuitTicket } from './circuit-breaker.js';
import { DecodeError, decodeBatchDetail, decodeBatchList, type DecodedBatchDetail } from './decode.js';
import { UpstreamError, errorForStatus } from './errors.js';
import { ELEMENTWISE_BYTES, decodeUtf8, parseJsonBytes, parseJsonDeferringLast } from './json-bytes.js';
import { DEFAULT_BACKOFF, backoffDelay, parseRetryAfter, type BackoffOptions } from './retry.js';
import { QueueFullError, Semaphore } from './semaphore.js';
import { follow } from './shared-flight.js';
import { UPSTREAM_PATHS, type WireWorkspaceBatchCallsResponse } from './types.js';

export interface CircuitOptions {
  /** Consecutive unhealthy failures that open the circuit. */
  failureThreshold: number;
  /** First open period; doubles after each failed probe. */
  openMs: number;
  maxOpenMs: number;
}

export interface UpstreamClientOptions {
  /** Origin of the REST API, e.g. https://api.elevenlabs.io. */
  baseUrl: string;
  apiKey: Secret;
  /** TCP + TLS connect. */
  connectTimeoutMs: number;
  /** One attempt, from asking for a connection to the last body byte. */
  timeoutMs: number;
  /** Longest silence between two body chunks. */
  bodyTimeoutMs: number;
  /** Upstream calls in flight at once; also the pool's connection count. */
  maxConcurrency: number;
  /** Calls that may wait for a free connection; beyond it a call fails at once (UPSTREAM_OVERLOADED). */
  maxQueue: number;
  /** Extra attempts after a connection error, 5xx or 429. */
  maxRetries: number;
  circuit: CircuitOptions;
  /** Cross-request cache of upstream responses; absent = off. */
  cache?: { maxBytes: number; ttls: CacheTtls } | undefined;
  logger: Logger;
  /** Observers for metrics: each attempt's outcome, each decoded body (and each detail's recipients, read apart). */
  onCall?: (route: Route, outcome: string) => void;
  onDecode?: (what: Route | 'recipients') => void;
  backoff?: BackoffOptions;
  /** Largest response body accepted, in bytes. Default 256 MiB (a 50 000-recipient batch is ~30 MiB). */
  maxResponseBytes?: number;
}

export interface ListBatchesQuery {
  limit: number;
  lastDoc?: string | undefined;
  agentId?: string | undefined;
}

/** Per call: the caller's cancellation (client gone) and the operation's deadline (epoch ms). */
export interface CallOptions {
  signal?: AbortSignal | undefined;
  deadline?: number | undefined;
  /**
   * A call shared by several callers (coalesced): each leaves at its own deadline, so an attempt
   * is not cut at `deadline`, which only stops retries that could not finish in time.
   */
  shared?: boolean | undefined;
  /**
   * Skip the cache lookup and the joining of identical calls in flight: the caller wants what the
   * upstream says now (a live poll). The fresh answer is still stored for the readers after it.
   */
  fresh?: boolean | undefined;
}

export type Route = 'list' | 'detail';

interface Loaded<T> {
  value: T;
  bytes: number;
  ttlMs: number;
}

interface Flight<T> {
  promise: Promise<T>;
  controller: AbortController;
  waiters: number;
  /** The latest deadline among the callers; undefined when one of them has none. */
  limit: { deadline: number | undefined };
}

const ATTEMPT_TIMEOUT = Symbol('attempt timeout');

/**
 * The only holder of the API key. Typed GETs against the batch-calling API with a keep-alive pool,
 * connect/attempt/body timeouts, a global concurrency bound with a bounded wait queue, a circuit
 * breaker, and retries with backoff for the failures a retry can fix, never past the operation's
 * deadline. Every id and cursor is encoded as a path segment or query value, so no input can
 * change which endpoint is called; no client header is ever forwarded.
 */
export class UpstreamClient {
  readonly #apiKey: Secret;
  readonly #pool: Pool;
  readonly #permits: Semaphore;
  readonly #breaker: CircuitBreaker;
  readonly #cache: { store: ResponseCache; ttls: CacheTtls } | undefined;
  readonly #inFlight = new Map<string, Flight<unknown>>();
  readonly #options: Required<Omit<UpstreamClientOptions, 'apiKey' | 'circuit' | 'cache' | 'onCall' | 'onDecode'>>;
  readonly #onCall: (route: Route, outcome: string) => void;
  readonly #onDecode: (what: Route | 'recipients') => void;

  constructor(options: UpstreamClientOptions) {
    this.#apiKey = options.apiKey;
    this.#options = {
      baseUrl: options.baseUrl,
      connectTimeoutMs: options.connectTimeoutMs,
      timeoutMs: options.timeoutMs,
      bodyTimeoutMs: options.bodyTimeoutMs,
      maxConcurrency: options.maxConcurrency,
      maxQueue: options.maxQueue,
      maxRetries: options.maxRetries,
      logger: options.logger,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      maxResponseBytes: options.maxResponseBytes ?? 256 * 1024 * 1024,
    };
    this.#onCall = options.onCall ?? (() => undefined);
    this.#onDecode = options.onDecode ?? (() => undefined);
    this.#permits = new Semaphore(options.maxConcurrency, options.maxQueue);
    this.#cache = options.cache === undefined ? undefined : { store: new ResponseCache(options.cache.maxBytes), ttls: options.cache.ttls };
    this.#breaker = new CircuitBreaker({
      ...options.circuit,
      onStateChange: (state, previous) => {
        const log = state === 'open' ? options.logger.error.bind(options.logger) : options.logger.warn.bind(options.logger);
        log({ circuit: { state, previous } }, `upstream circuit ${state}`);
      },
    });
    this.#pool = new Pool(options.baseUrl, {
      connections: options.maxConcurrency,
      keepAliveTimeout: 30_000,
      connect: { timeout: options.connectTimeoutMs },
      // Backstops; the attempt timer below is the one that normally fires.
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
      maxResponseSize: this.#options.maxResponseBytes,
    });
  }

  /** Identifies the key without revealing it (for cache keys and logs). */
  get keyFingerprint(): string {
    return this.#apiKey.fingerprint();
  }

  get circuitState(): CircuitState {
    return this.#breaker.state;
  }

  /** Calls in flight and waiting for a connection, for readiness and metrics. */
  get load(): { active: number; waiting: number } {
    return { active: this.#permits.active, waiting: this.#permits.waiting };
  }

  /** A batch with its recipients; they are parsed and checked when first read (see LazyRecipients). */
  async getBatch(batchId: string, call: CallOptions = {}): Promise<DecodedBatchDetail> {
    const path = detailPath(batchId);
    return this.#read(path, call, async (shared) => {
      const { body, bytes, rest } = await this.#get('detail', path, shared);
      let decoded: DecodedBatchDetail | undefined;
      // Recipients that turn out unreadable: said once, and this answer leaves the cache so the next read refetches.
      const fail = (error: SyntaxError | DecodeError): UpstreamError => {
        if (decoded !== undefined) this.#cache?.store.delete(this.#cacheKey(path), decoded);
        return this.#invalid(error, 'detail');
      };
      const value = this.#decode(() => decodeBatchDetail(body, fail, rest, () => this.#onDecode('recipients')), 'detail');
      decoded = value;
      return { value, bytes, ttlMs: this.#cache === undefined ? 0 : detailTtl(String(value.batch.status), this.#cache.ttls) };
    });
  }

  async listBatches(query: ListBatchesQuery, call: CallOptions = {}): Promise<WireWorkspaceBatchCallsResponse> {
    const path = listPath(query);
    return this.#read(path, call, async (shared) => {
      const { body, bytes } = await this.#get('list', path, shared);
      const value = this.#decode(() => decodeBatchList(body), 'list');
      return { value, bytes, ttlMs: this.#cache?.ttls.listMs ?? 0 };
    });
  }

  /** Cache statistics, or undefined when the cache is off. */
  cacheStats(): CacheStats | undefined {
    return this.#cache?.store.stats();
  }

  /**
   * A read through the cache: a fresh cached answer is returned as is; otherwise identical reads
   * in flight are joined (one upstream GET however many callers), and the answer is cached for
   * the time its kind of data allows. Each caller still leaves at its own deadline or
   * cancellation; the shared call is cancelled when its last caller has left. A `fresh` read
   * skips the lookup and the joining, and stores its answer.
   */
  async #read<T>(path: string, call: CallOptions, load: (shared: CallOptions) => Promise<Loaded<T>>): Promise<T> {
    const cache = this.#cache;
    if (cache === undefined) return (await load(call)).value;
    const key = this.#cacheKey(path);
    if (call.fresh === true) {
      const askedAt = performance.now();
      const loaded = await load(call);
      cache.store.set(key, loaded.value, loaded.bytes, loaded.ttlMs, askedAt);
      return loaded.value;
    }
    const hit = cache.store.get<T>(key);
    if (hit !== undefined) return hit;
    let flight = this.#inFlight.get(key) as Flight<T> | undefined;
    if (flight === undefined) {
      const controller = new AbortController();
      const limit = { deadline: call.deadline };
      // The shared call runs until the latest deadline among its callers (read at each attempt).
      const shared: CallOptions = {
        signal: controller.signal,
        shared: true,
        get deadline() {
          return limit.deadline;
        },
      };
      const askedAt = performance.now();
      const promise = load(shared).then((loaded) => {
        cache.store.set(key, loaded.value, loaded.bytes, loaded.ttlMs, askedAt);
        return loaded.value;
      });
      const created: Flight<T> = { promise, controller, waiters: 0, limit };
      flight = created;
      this.#inFlight.set(key, created);
      // Settled flights leave the map; a flight nobody waits for any more must not reject unseen.
      promise.then(() => this.#inFlight.delete(key), () => this.#inFlight.delete(key));
    } else {
      cache.store.countCoalesced();
      const { limit } = flight;
      limit.deadline = limit.deadline === undefined || call.deadline === undefined ? undefined : Math.max(limit.deadline, call.deadline);
    }
    const joined = flight;
    return follow(joined, call, "The operation's time budget ran out before the upstream API answered", () => {
      if (joined.waiters === 0) joined.controller.abort();
    });
  }

  /**
   * Closes the pool: waits up to `graceMs` for calls in flight, then destroys the connections
   * (a hung upstream call must not hold up shutdown).
   */
  async close(graceMs = 0): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), graceMs);
    });
    const outcome = await Promise.race([this.#pool.close().then(() => 'closed' as const), expired]);
    clearTimeout(timer);
    if (outcome === 'expired') await this.#pool.destroy();
  }

  #cacheKey(path: string): string {
    return `${this.keyFingerprint}:${path}`;
  }

  #decode<T>(decode: () => T, route: Route): T {
    this.#onDecode(route);
    try {
      return decode();
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      throw this.#invalid(error, route);
    }
  }

  /** A body that failed validation, or recipients found not to be JSON when first read. */
  #invalid(error: SyntaxError | DecodeError, route: Route): UpstreamError {
    if (error instanceof DecodeError) {
      this.#options.logger.warn({ upstream: { route, field: error.field } }, 'upstream response failed validation');
      return new UpstreamError('UPSTREAM_BAD_RESPONSE', 'The upstream API sent a response the gateway could not read');
    }
    this.#options.logger.warn({ upstream: { route } }, 'upstream response is not valid JSON');
    return new UpstreamError('UPSTREAM_BAD_RESPONSE', 'The upstream API sent a response that is not valid JSON');
  }

  async #get(route: Route, path: string, call: CallOptions): Promise<Received> {
    const { maxRetries, backoff, logger, timeoutMs } = this.#options;
    const { signal } = call;
    for (let attempt = 0; ; attempt += 1) {
      // Read at each attempt: a shared call's deadline moves out when a later caller joins.
      const deadline = call.deadline;
      const remaining = deadline === undefined ? Number.POSITIVE_INFINITY : deadline - Date.now();
      if (remaining <= 0) {
        throw new UpstreamError('UPSTREAM_TIMEOUT', "The operation's time budget ran out before the upstream API answered", {
          attempts: attempt,
        });
      }
      try {
        const bound = call.shared !== true && remaining < timeoutMs;
        return await this.#attempt(route, path, signal, bound ? remaining : timeoutMs, bound);
      } catch (error) {
        const failure = error instanceof UpstreamError ? error : connectionError(error);
        const retryAfterMs = failure.retryAfterSeconds === undefined ? undefined : failure.retryAfterSeconds * 1000;
        const delay = retryAfterMs ?? backoffDelay(attempt, backoff);
        const giveUp =
          !failure.retryable || attempt >= maxRetries || signal?.aborted === true ||
          // A Retry-After longer than we are willing to wait means "give up now and say so".
          (retryAfterMs !== undefined && retryAfterMs > backoff.maxDelayMs) ||
          // Never retry past the deadline: answer now with what went wrong.
          (deadline !== undefined && Date.now() + delay >= deadline);
        if (giveUp) throw failure.withAttempts(attempt + 1);
        logger.warn({ upstream: { route, code: failure.code, status: failure.status, attempt: attempt + 1, delayMs: delay } },
          'retrying upstream call');
        await sleep(delay, undefined, signal === undefined ? undefined : { signal }).catch(() => undefined);
      }
    }
  }

  async #attempt(
    route: Route,
    path: string,
    outer: AbortSignal | undefined,
    timeoutMs: number,
    deadlineBound: boolean,
  ): Promise<Received> {
    const { logger } = this.#options;
    let ticket: CircuitTicket;
    try {
      ticket = this.#breaker.enter();
    } catch (error) {
      if (!(error instanceof CircuitOpenError)) throw error;
      const seconds = Math.max(1, Math.ceil(error.retryAfterMs / 1000));
      throw new UpstreamError('UPSTREAM_CIRCUIT_OPEN',
        `The upstream API is failing; the gateway is not calling it for the next ${seconds} s`, { retryAfterSeconds: seconds });
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(ATTEMPT_TIMEOUT), timeoutMs);
    const onOuterAbort = (): void => controller.abort(outer?.reason);
    if (outer?.aborted === true) onOuterAbort();
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    const started = performance.now();
    let release: (() => void) | undefined;
    try {
      try {
        release = await this.#permits.acquire(controller.signal);
      } catch (error) {
        if (error instanceof QueueFullError) {
          throw new UpstreamError('UPSTREAM_OVERLOADED',
            'The gateway has too many upstream calls waiting; try again shortly', { retryAfterSeconds: 1 });
        }
        if (controller.signal.reason === ATTEMPT_TIMEOUT) {
          throw new UpstreamError('UPSTREAM_TIMEOUT', `No upstream connection became free within ${timeoutMs} ms`);
        }
        throw error;
      }
      const response = await this.#pool.request({
        path,
        method: 'GET',
        headers: { 'xi-api-key': this.#apiKey.reveal(), accept: 'application/json' },
        signal: controller.signal,
      });
      // Bytes, not text: a detail body is parsed without ever being one (two-byte, 2× its size) string.
      const raw = new Uint8Array(await response.body.arrayBuffer());
      const status = response.statusCode;
      logger.debug({ upstream: { route, status, ms: Math.round(performance.now() - started) } }, 'upstream call');
      const ok = status >= 200 && status < 300;
      const received = ok && route === 'detail' ? parseDetail(raw) : { body: parseJson(decodeUtf8(raw)), bytes: raw.byteLength };
      if (ok) {
        if (received.body === INVALID_JSON) {
          throw new UpstreamError('UPSTREAM_BAD_RESPONSE', 'The upstream API sent a response that is not valid JSON', { status });
        }
        ticket.success();
        this.#onCall(route, 'ok');
        return received;
      }
      throw errorForStatus(status, received.body === INVALID_JSON ? undefined : received.body, parseRetryAfter(response.headers['retry-after']));
    } catch (error) {
      const failure = this.#classify(error, controller.signal, timeoutMs, deadlineBound);
      if (failure === undefined) {
        // Cancelled by the caller: no verdict on the upstream's health.
        ticket.release();
        this.#onCall(route, 'CANCELLED');
        throw error;
      }
      this.#onCall(route, failure.code);
      if (failure.unhealthy && !(failure.code === 'UPSTREAM_TIMEOUT' && deadlineBound)) ticket.failure();
      else if (failure.code === 'UPSTREAM_NOT_FOUND' || failure.code === 'UPSTREAM_INVALID_REQUEST') ticket.success();
      else ticket.release();
      throw failure;
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
      release?.();
      ticket.release();
    }
  }

  /** The UpstreamError for a failed attempt, or undefined when the caller cancelled it. */
  #classify(error: unknown, signal: AbortSignal, timeoutMs: number, deadlineBound: boolean): UpstreamError | undefined {
    if (error instanceof UpstreamError) return error;
    if (signal.aborted) {
      if (signal.reason !== ATTEMPT_TIMEOUT) return undefined;
      return new UpstreamError('UPSTREAM_TIMEOUT', deadlineBound
        ? "The operation's time budget ran out before the upstream API answered"
        : `The upstream API did not answer within ${timeoutMs} ms`);
    }
    const code = errorCode(error);
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      return new UpstreamError('UPSTREAM_TIMEOUT', 'The upstream API stopped sending its response');
    }
    return connectionError(error);
  }
}

const INVALID_JSON = Symbol('invalid json');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return INVALID_JSON;
  }
}

/** A response body: parsed (or INVALID_JSON), its size, and for a detail the recipients still to parse. */
interface Received {
  body: unknown;
  bytes: number;
  rest?: (() => unknown) | undefined;
}

/**
 * A detail body, its recipients left unparsed until read when they end the body, as the upstream
 * sends them (see json-bytes.ts). Otherwise the whole body now; over 1 MiB recipient by recipient,
 * so that it never exists as one string; below that one JSON.parse is cheaper and the string small.
 */
function parseDetail(raw: Uint8Array): Received {
  const deferred = parseJsonDeferringLast(raw, 'recipients');
  if (deferred !== undefined) return { body: deferred.head, bytes: raw.byteLength, rest: deferred.rest };
  try {
    const body = raw.byteLength > ELEMENTWISE_BYTES ? parseJsonBytes(raw, 'recipients') : JSON.parse(decodeUtf8(raw)) as unknown;
    return { body, bytes: raw.byteLength };
  } catch {
    return { body: INVALID_JSON, bytes: raw.byteLength };
  }
}

function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'unknown';
}

/** Connection-level failures (reset, refused, connect timeout, cut body): worth another attempt. */
function connectionError(error: unknown): UpstreamError {
  return new UpstreamError('UPSTREAM_UNAVAILABLE', `The upstream API could not be reached (${safeCode(errorCode(error))})`);
}

/** Error codes such as ECONNRESET or UND_ERR_SOCKET are safe to show; anything else is not. */
function safeCode(code: string): string {
  return /^[A-Z0-9_]{1,40}$/.test(code) ? code : 'connection error';
}

/** Encodes an id as one path segment; dots too, so `.` and `..` can never walk the path. */
export function encodePathSegment(value: string): string {
  // URL parsers read `%2E` as a dot, so the dot segments are refused rather than encoded.
  if (value === '' || value === '.' || value === '..') {
    throw new UpstreamError('UPSTREAM_INVALID_REQUEST', 'This id cannot be looked up');
  }
  if (!value.isWellFormed()) throw new UpstreamError('UPSTREAM_INVALID_REQUEST', 'This id is not well-formed text');
  return encodeURIComponent(value).replace(/\./g, '%2E');
}

export function detailPath(batchId: string): string {
  // `/v1/convai/batch-calling/workspace` is the list endpoint, not a batch.
  if (batchId === 'workspace' || batchId === 'submit') throw new UpstreamError('UPSTREAM_INVALID_REQUEST', 'This id cannot be looked up');
  return `${UPSTREAM_PATHS.detailPrefix}${encodePathSegment(batchId)}`;
}

export function listPath({ limit, lastDoc, agentId }: ListBatchesQuery): string {
  if ((lastDoc !== undefined && !lastDoc.isWellFormed()) || (agentId !== undefined && !agentId.isWellFormed())) {
    throw new UpstreamError('UPSTREAM_INVALID_REQUEST', 'A list parameter is not well-formed text');
  }
  const query = new URLSearchParams({ limit: String(limit) });
  if (lastDoc !== undefined) query.set('last_doc', lastDoc);
  if (agentId !== undefined) query.set('agent_id', agentId);
  return `${UPSTREAM_PATHS.list}?${query.toString()}`;
}
