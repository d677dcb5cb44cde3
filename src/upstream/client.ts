import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { Logger } from '../logger.js';
import type { Secret } from '../secret.js';
import { DecodeError, decodeBatchDetail, decodeBatchList } from './decode.js';
import { UpstreamError, errorForStatus } from './errors.js';
import { DEFAULT_BACKOFF, backoffDelay, parseRetryAfter, type BackoffOptions } from './retry.js';
import { Semaphore } from './semaphore.js';
import { UPSTREAM_PATHS, type WireBatchCallDetail, type WireWorkspaceBatchCallsResponse } from './types.js';

export interface UpstreamClientOptions {
  /** Origin of the REST API, e.g. https://api.elevenlabs.io. */
  baseUrl: string;
  apiKey: Secret;
  /** Per attempt, queueing for a permit included. */
  timeoutMs: number;
  /** Upstream calls in flight at once; also the pool's connection count. */
  maxConcurrency: number;
  /** Extra attempts after a connection error, 5xx or 429. */
  maxRetries: number;
  logger: Logger;
  backoff?: BackoffOptions;
  /** Largest response body accepted, in bytes. Default 256 MiB (a 50 000-recipient batch is ~30 MiB). */
  maxResponseBytes?: number;
}

export interface ListBatchesQuery {
  limit: number;
  lastDoc?: string | undefined;
  agentId?: string | undefined;
}

type Route = 'list' | 'detail';

const TIMEOUT = Symbol('upstream timeout');

/**
 * The only holder of the API key. Typed GETs against the batch-calling API with a keep-alive pool,
 * a per-attempt timeout, a global concurrency bound and retries with backoff for the failures a
 * retry can fix. Every id and cursor is encoded as a path segment or query value, so no input can
 * change which endpoint is called; no client header is ever forwarded.
 */
export class UpstreamClient {
  readonly #apiKey: Secret;
  readonly #pool: Pool;
  readonly #permits: Semaphore;
  readonly #options: Required<Omit<UpstreamClientOptions, 'apiKey'>>;

  constructor(options: UpstreamClientOptions) {
    this.#apiKey = options.apiKey;
    this.#options = {
      baseUrl: options.baseUrl,
      timeoutMs: options.timeoutMs,
      maxConcurrency: options.maxConcurrency,
      maxRetries: options.maxRetries,
      logger: options.logger,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      maxResponseBytes: options.maxResponseBytes ?? 256 * 1024 * 1024,
    };
    this.#permits = new Semaphore(options.maxConcurrency);
    this.#pool = new Pool(options.baseUrl, {
      connections: options.maxConcurrency,
      keepAliveTimeout: 30_000,
      maxResponseSize: this.#options.maxResponseBytes,
    });
  }

  /** Identifies the key without revealing it (for cache keys and logs). */
  get keyFingerprint(): string {
    return this.#apiKey.fingerprint();
  }

  async getBatch(batchId: string, signal?: AbortSignal): Promise<WireBatchCallDetail> {
    const body = await this.#get('detail', detailPath(batchId), signal);
    return this.#decode(() => decodeBatchDetail(body), 'detail');
  }

  async listBatches(query: ListBatchesQuery, signal?: AbortSignal): Promise<WireWorkspaceBatchCallsResponse> {
    const body = await this.#get('list', listPath(query), signal);
    return this.#decode(() => decodeBatchList(body), 'list');
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }

  #decode<T>(decode: () => T, route: Route): T {
    try {
      return decode();
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      this.#options.logger.warn({ upstream: { route, field: error.field } }, 'upstream response failed validation');
      throw new UpstreamError('UPSTREAM_BAD_RESPONSE', 'The upstream API sent a response the gateway could not read');
    }
  }

  async #get(route: Route, path: string, signal: AbortSignal | undefined): Promise<unknown> {
    const { maxRetries, backoff, logger } = this.#options;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.#attempt(route, path, signal);
      } catch (error) {
        const failure = error instanceof UpstreamError ? error : unexpected(error);
        const retryAfterMs = failure.retryAfterSeconds === undefined ? undefined : failure.retryAfterSeconds * 1000;
        // A Retry-After longer than we are willing to wait means "give up now and say so".
        const canWait = retryAfterMs === undefined || retryAfterMs <= backoff.maxDelayMs;
        if (!failure.retryable || attempt >= maxRetries || !canWait || signal?.aborted === true) {
          throw failure.withAttempts(attempt + 1);
        }
        const delay = retryAfterMs ?? backoffDelay(attempt, backoff);
        logger.warn({ upstream: { route, code: failure.code, status: failure.status, attempt: attempt + 1, delayMs: delay } },
          'retrying upstream call');
        await sleep(delay, undefined, signal === undefined ? undefined : { signal }).catch(() => undefined);
      }
    }
  }

  async #attempt(route: Route, path: string, outer: AbortSignal | undefined): Promise<unknown> {
    const { timeoutMs, logger } = this.#options;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(TIMEOUT), timeoutMs);
    const onOuterAbort = (): void => controller.abort(outer?.reason);
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    const started = performance.now();
    let release: (() => void) | undefined;
    try {
      release = await this.#permits.acquire(controller.signal);
      const response = await this.#pool.request({
        path,
        method: 'GET',
        headers: { 'xi-api-key': this.#apiKey.reveal(), accept: 'application/json' },
        signal: controller.signal,
      });
      const text = await response.body.text();
      const status = response.statusCode;
      logger.debug({ upstream: { route, status, ms: Math.round(performance.now() - started) } }, 'upstream call');
      const body = parseJson(text);
      if (status >= 200 && status < 300) {
        if (body === INVALID_JSON) {
          throw new UpstreamError('UPSTREAM_BAD_RESPONSE', 'The upstream API sent a response that is not valid JSON', { status });
        }
        return body;
      }
      throw errorForStatus(status, body === INVALID_JSON ? undefined : body, parseRetryAfter(response.headers['retry-after']));
    } catch (error) {
      if (controller.signal.aborted && controller.signal.reason === TIMEOUT) {
        throw new UpstreamError('UPSTREAM_TIMEOUT', `The upstream API did not answer within ${timeoutMs} ms`);
      }
      throw error;
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
      release?.();
    }
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

/** Connection-level failures (reset, refused, truncated body): worth another attempt. */
function unexpected(error: unknown): UpstreamError {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'unknown';
  return new UpstreamError('UPSTREAM_UNAVAILABLE', `The upstream API could not be reached (${safeCode(code)})`);
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
