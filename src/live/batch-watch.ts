import { GraphQLError } from 'graphql';
import type { Logger } from '../logger.js';
import { toBatchCallDetail, type BatchCall } from '../model/batch-call.js';
import type { BatchCallStatus, UnknownEnumReporter } from '../model/enums.js';
import type { UpstreamClient } from '../upstream/client.js';
import { UpstreamError, type UpstreamErrorCode } from '../upstream/errors.js';
import { changesBetween, snapshotOf, type BatchSnapshot } from './changes.js';
import { pollDelay } from './schedule.js';
import { realTimers, type Timers } from './timers.js';

/** Where polls read a batch: the upstream client (a stand-in in unit tests). */
export type BatchSource = Pick<UpstreamClient, 'getBatch'>;

/** What the watch needs: the upstream, its limits (Config.live), and how long a poll may take. */
export interface BatchWatchOptions {
  upstream: BatchSource;
  logger: Logger;
  reportUnknownEnum: UnknownEnumReporter;
  pollIntervalMs: number;
  maxBackoffMs: number;
  maxBatches: number;
  maxSubscriptions: number;
  /** Time budget of one poll, retries included. Default 15 000 ms (the operation timeout's default). */
  pollTimeoutMs?: number | undefined;
  /** What polls are scheduled on; Node's timers by default. */
  timers?: Timers | undefined;
  /**
   * A subscription nobody starts reading within this time is dropped (default 10 000 ms). Yoga
   * runs a subscription before it picks a response type, and when it finds none the client
   * accepts (a 406) it drops the stream without closing it: this returns what it held.
   */
  claimTimeoutMs?: number | undefined;
}

/**
 * What a subscription receives: the batch as one poll found it, or the failure that ends the
 * subscription (the batch does not exist, the gateway's key is refused).
 */
export type LiveEvent =
  | { kind: 'update'; batch: BatchCall }
  | { kind: 'failed'; error: UpstreamError };

/** Counters for metrics and tests. */
export interface LiveStats {
  /** Distinct batches watched now. */
  batches: number;
  /** Subscriptions open now. */
  subscriptions: number;
  /** Upstream polls started since the process started. */
  polls: number;
  /** Of those, polls that failed. */
  failedPolls: number;
}

/** Statuses after which a batch no longer changes: its subscriptions complete. */
const TERMINAL: ReadonlySet<BatchCallStatus> = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/** Failures another poll will not fix: they end every subscription on the batch. */
const PERMANENT: ReadonlySet<UpstreamErrorCode> = new Set(['UPSTREAM_NOT_FOUND', 'UPSTREAM_UNAUTHORIZED', 'UPSTREAM_INVALID_REQUEST']);

/**
 * Events a subscriber may have waiting before the oldest are dropped: a client that reads this
 * slowly skips intermediate states, never the latest one, the terminal one or a failure.
 */
const MAX_QUEUED = 64;

/** A refusal to open a subscription, with its code. */
function refused(code: 'TOO_MANY_SUBSCRIPTIONS' | 'SHUTTING_DOWN', message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

/** One batch being polled for its subscribers. */
interface Watched {
  readonly batchId: string;
  readonly subscribers: Set<Subscription>;
  /** The latest successful poll: what a new subscriber gets first. */
  latest: { batch: BatchCall; snapshot: BatchSnapshot } | undefined;
  /** Cancels the scheduled next poll. */
  cancelTimer: (() => void) | undefined;
  /** The poll in flight, aborted when the last subscriber leaves. */
  poll: AbortController | undefined;
  /** Consecutive failed polls. */
  failures: number;
  stopped: boolean;
}

/**
 * One subscriber's stream of events: an async iterator fed by the watch. `return()` (the client
 * went away, or the server ends the response) detaches it from the watch at once.
 */
class Subscription implements AsyncIterableIterator<LiveEvent> {
  readonly #queue: LiveEvent[] = [];
  #waiting: ((result: IteratorResult<LiveEvent>) => void) | undefined;
  /** No more events will be queued. */
  #ended = false;
  readonly #leave: (subscription: Subscription) => void;
  /** Until the first read: drops a subscription whose response was never sent. */
  #claim: NodeJS.Timeout | undefined;

  constructor(leave: (subscription: Subscription) => void, claimTimeoutMs: number) {
    this.#leave = leave;
    this.#claim = setTimeout(() => void this.return(), claimTimeoutMs);
    this.#claim.unref();
  }

  push(event: LiveEvent): void {
    if (this.#ended) return;
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      waiting({ value: event, done: false });
      return;
    }
    if (this.#queue.length >= MAX_QUEUED) this.#queue.shift();
    this.#queue.push(event);
  }

  /** Completes the stream once the queued events are read. */
  end(): void {
    this.#ended = true;
    const waiting = this.#waiting;
    if (waiting !== undefined && this.#queue.length === 0) {
      this.#waiting = undefined;
      waiting({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<LiveEvent>> {
    clearTimeout(this.#claim);
    const event = this.#queue.shift();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<LiveEvent>> {
    clearTimeout(this.#claim);
    this.#leave(this);
    this.#queue.length = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(): Promise<IteratorResult<LiveEvent>> {
    return this.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * Watched batches for `batchCallUpdated`: one shared upstream poll per batch, whatever the number
 * of subscribers. The first subscriber starts a poll at once; later ones get the latest poll's
 * result. Every subscriber gets each observed change (status, counts, recipients) in the same
 * order; a poll that finds nothing new emits nothing. A terminal status completes every
 * subscription on the batch; NOT_FOUND, UPSTREAM_UNAUTHORIZED (and a 422) end them with that error;
 * other failures are retried at a doubling interval, silently. When the last subscriber leaves,
 * the timer is cleared and a poll in flight aborted. Polls carry their own deadline and the
 * watch's own signal, never a client's, and bypass the cache (they store their answer in it).
 */
export class BatchWatch {
  readonly #options: BatchWatchOptions;
  readonly #timers: Timers;
  readonly #pollTimeoutMs: number;
  readonly #claimTimeoutMs: number;
  readonly #watched = new Map<string, Watched>();
  #subscriptions = 0;
  #polls = 0;
  #failedPolls = 0;
  #closed = false;

  constructor(options: BatchWatchOptions) {
    this.#options = options;
    this.#timers = options.timers ?? realTimers;
    this.#pollTimeoutMs = options.pollTimeoutMs ?? 15_000;
    this.#claimTimeoutMs = options.claimTimeoutMs ?? 10_000;
  }

  get stats(): LiveStats {
    return { batches: this.#watched.size, subscriptions: this.#subscriptions, polls: this.#polls, failedPolls: this.#failedPolls };
  }

  /**
   * Opens a subscription on a batch (an upstream id, already checked). Throws, before anything is
   * polled, a TOO_MANY_SUBSCRIPTIONS error past either cap, or SHUTTING_DOWN after `close()`.
   */
  subscribe(batchId: string): AsyncIterableIterator<LiveEvent> {
    const { maxSubscriptions, maxBatches } = this.#options;
    if (this.#closed) throw refused('SHUTTING_DOWN', 'The gateway is shutting down; subscribe again in a moment');
    if (this.#subscriptions >= maxSubscriptions) {
      throw refused('TOO_MANY_SUBSCRIPTIONS', `The gateway already serves its limit of ${maxSubscriptions} open subscriptions; try again later`);
    }
    let watched = this.#watched.get(batchId);
    if (watched === undefined) {
      if (this.#watched.size >= maxBatches) {
        throw refused('TOO_MANY_SUBSCRIPTIONS',
          `The gateway already watches its limit of ${maxBatches} distinct batches; subscribe to one of them or try again later`);
      }
      watched = { batchId, subscribers: new Set(), latest: undefined, cancelTimer: undefined, poll: undefined, failures: 0, stopped: false };
      this.#watched.set(batchId, watched);
      this.#options.logger.debug({ live: { batchId } }, 'watching batch');
    }
    const target = watched;
    const subscription = new Subscription((leaving) => this.#leave(target, leaving), this.#claimTimeoutMs);
    target.subscribers.add(subscription);
    this.#subscriptions += 1;
    if (target.latest !== undefined) subscription.push({ kind: 'update', batch: target.latest.batch });
    else if (target.poll === undefined && target.cancelTimer === undefined) void this.#poll(target);
    return subscription;
  }

  /** Ends every subscription (shutdown): each stream completes, no poll runs after this. */
  close(): void {
    this.#closed = true;
    for (const watched of [...this.#watched.values()]) this.#endAll(watched);
  }

  #leave(watched: Watched, subscription: Subscription): void {
    if (!watched.subscribers.delete(subscription)) return;
    this.#subscriptions -= 1;
    if (watched.subscribers.size === 0) this.#stop(watched);
  }

  /** Ends every subscription on the batch, after `last` when given, and stops watching it. */
  #endAll(watched: Watched, last?: LiveEvent): void {
    for (const subscription of watched.subscribers) {
      if (last !== undefined) subscription.push(last);
      subscription.end();
    }
    this.#subscriptions -= watched.subscribers.size;
    watched.subscribers.clear();
    this.#stop(watched);
  }

  #stop(watched: Watched): void {
    watched.stopped = true;
    watched.cancelTimer?.();
    watched.cancelTimer = undefined;
    watched.poll?.abort(new Error('no subscriber left'));
    watched.poll = undefined;
    if (this.#watched.get(watched.batchId) === watched) this.#watched.delete(watched.batchId);
    this.#options.logger.debug({ live: { batchId: watched.batchId } }, 'stopped watching batch');
  }

  #schedule(watched: Watched, delayMs: number): void {
    watched.cancelTimer = this.#timers.schedule(delayMs, () => {
      watched.cancelTimer = undefined;
      if (!watched.stopped) void this.#poll(watched);
    });
  }

  async #poll(watched: Watched): Promise<void> {
    const controller = new AbortController();
    watched.poll = controller;
    this.#polls += 1;
    let polled: { batch: BatchCall; snapshot: BatchSnapshot };
    try {
      const detail = await this.#options.upstream.getBatch(watched.batchId, {
        signal: controller.signal,
        deadline: Date.now() + this.#pollTimeoutMs,
        fresh: true,
      });
      // Reads the recipients too: unreadable ones fail the poll here, not a subscriber's query.
      const snapshot = snapshotOf(detail);
      polled = { batch: toBatchCallDetail(detail, this.#options.reportUnknownEnum), snapshot };
    } catch (error) {
      if (watched.poll === controller) watched.poll = undefined;
      if (!watched.stopped) this.#failed(watched, error);
      return;
    }
    if (watched.poll === controller) watched.poll = undefined;
    if (!watched.stopped) this.#updated(watched, polled);
  }

  #updated(watched: Watched, polled: { batch: BatchCall; snapshot: BatchSnapshot }): void {
    const previous = watched.latest;
    watched.failures = 0;
    watched.latest = polled;
    const changes = previous === undefined ? ['first'] : changesBetween(previous.snapshot, polled.snapshot);
    const { batch } = polled;
    if (changes.length > 0) {
      this.#options.logger.debug({ live: { batchId: watched.batchId, changes, status: batch.status } }, 'batch changed');
    }
    if (TERMINAL.has(batch.status)) {
      // Subscribers all hold `previous` already: the terminal state is news unless it is that.
      this.#endAll(watched, changes.length > 0 ? { kind: 'update', batch } : undefined);
      return;
    }
    if (changes.length > 0) for (const subscription of watched.subscribers) subscription.push({ kind: 'update', batch });
    this.#schedule(watched, this.#options.pollIntervalMs);
  }

  #failed(watched: Watched, error: unknown): void {
    this.#failedPolls += 1;
    const { logger } = this.#options;
    if (error instanceof UpstreamError && PERMANENT.has(error.code)) {
      logger.info({ live: { batchId: watched.batchId, code: error.code, subscribers: watched.subscribers.size } },
        'watched batch cannot be polled; ending its subscriptions');
      this.#endAll(watched, { kind: 'failed', error });
      return;
    }
    watched.failures += 1;
    const retryAfterMs = error instanceof UpstreamError && error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : undefined;
    const delayMs = pollDelay({ intervalMs: this.#options.pollIntervalMs, maxBackoffMs: this.#options.maxBackoffMs }, watched.failures, retryAfterMs);
    const code = error instanceof UpstreamError ? error.code : 'UNEXPECTED';
    if (!(error instanceof UpstreamError)) {
      const summary = error instanceof Error ? { name: error.name, message: error.message } : { name: 'NonError', message: String(error).slice(0, 200) };
      logger.error({ error: summary }, 'unexpected error while polling a watched batch');
    }
    logger.warn({ live: { batchId: watched.batchId, code, failures: watched.failures, nextPollMs: delayMs } }, 'poll of a watched batch failed');
    this.#schedule(watched, delayMs);
  }
}
