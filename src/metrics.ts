import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { LiveStats } from './live/batch-watch.js';
import type { UpstreamClient } from './upstream/client.js';

const CIRCUIT_STATES = { closed: 0, half_open: 1, open: 2 } as const;

/**
 * Prometheus metrics (text format on /metrics). Labels are fixed vocabularies (routes, codes,
 * states): never an id, a path, a token or the key.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly upstreamCalls: Counter<'route' | 'outcome'>;
  readonly decoded: Counter<'route'>;
  readonly requests: Counter<'path'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'gateway_' });
    this.upstreamCalls = new Counter({
      name: 'gateway_upstream_calls_total',
      help: 'Upstream calls made (each attempt), by route and outcome (ok or an error code).',
      labelNames: ['route', 'outcome'],
      registers: [this.registry],
    });
    this.requests = new Counter({
      name: 'gateway_graphql_requests_total',
      help: 'Requests handled, by path through the gateway: the compiled fast path or yoga.',
      labelNames: ['path'],
      registers: [this.registry],
    });
    this.decoded = new Counter({
      name: 'gateway_upstream_responses_decoded_total',
      help: 'Upstream response bodies parsed and decoded, by route; route="recipients": a detail\'s recipients, read when first needed.',
      labelNames: ['route'],
      registers: [this.registry],
    });
  }

  /** The live watch's figures, read at scrape time (`batchCallUpdated` subscriptions). */
  observeLive(live: { readonly stats: LiveStats }): void {
    const gauge = (name: string, help: string, pick: (s: LiveStats) => number): void => {
      new Gauge({ name, help, registers: [this.registry], collect() { this.set(pick(live.stats)); } });
    };
    const counter = (name: string, help: string, pick: (s: LiveStats) => number): void => {
      new Counter({ name, help, registers: [this.registry], collect() { this.reset(); this.inc(pick(live.stats)); } });
    };
    gauge('gateway_live_batches', 'Distinct batches watched for subscriptions (one upstream poll each per interval).', (s) => s.batches);
    gauge('gateway_live_subscriptions', 'Open batchCallUpdated subscriptions.', (s) => s.subscriptions);
    counter('gateway_live_polls_total', 'Upstream polls of watched batches started.', (s) => s.polls);
    counter('gateway_live_poll_failures_total', 'Polls of watched batches that failed.', (s) => s.failedPolls);
  }

  /** Gauges read from the client at scrape time: cache statistics and circuit state. */
  observe(upstream: UpstreamClient): void {
    type Stats = NonNullable<ReturnType<UpstreamClient['cacheStats']>>;
    const read = (pick: (s: Stats) => number): number => {
      const stats = upstream.cacheStats();
      return stats === undefined ? 0 : pick(stats);
    };
    const counter = (name: string, help: string, pick: (s: Stats) => number): void => {
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(read(pick));
        },
      });
    };
    const gauge = (name: string, help: string, pick: (s: Stats) => number): void => {
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read(pick));
        },
      });
    };
    counter('gateway_cache_hits_total', 'Upstream reads answered from the cache.', (s) => s.hits);
    counter('gateway_cache_misses_total', 'Upstream reads not in the cache.', (s) => s.misses);
    counter('gateway_cache_evictions_total', 'Cache entries evicted by the size bound.', (s) => s.evictions);
    counter('gateway_cache_coalesced_total', 'Reads that joined an identical upstream call in flight.', (s) => s.coalesced);
    gauge('gateway_cache_entries', 'Entries in the cache.', (s) => s.entries);
    gauge('gateway_cache_bytes', 'Response bytes held by the cache.', (s) => s.bytes);
    new Gauge({
      name: 'gateway_circuit_state',
      help: 'Upstream circuit breaker: 0 closed, 1 half-open, 2 open.',
      registers: [this.registry],
      collect() {
        this.set(CIRCUIT_STATES[upstream.circuitState]);
      },
    });
  }
}
