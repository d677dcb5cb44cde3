import type { Config } from './config.js';
import { SummaryCache } from './aggregates/summary-cache.js';
import { BatchWatch } from './live/batch-watch.js';
import type { Timers } from './live/timers.js';
import type { Logger } from './logger.js';
import type { UnknownEnumReporter } from './model/enums.js';
import type { UpstreamClient } from './upstream/client.js';

/**
 * What lives for the whole process beside the upstream client and is shared by every request:
 * the scan budgets, the summaries cache, and the live watch of batches for subscriptions.
 */
export interface Services {
  /** Upstream list pages one filtered batch-call connection may read. */
  readonly filterPageBudget: number;
  /** Upstream list pages one summary may read. */
  readonly summaryPageBudget: number;
  readonly summaries: SummaryCache;
  readonly live: BatchWatch;
}

export interface ServicesDependencies {
  config: Config;
  upstream: UpstreamClient;
  logger: Logger;
  reportUnknownEnum: UnknownEnumReporter;
  /** What the live watch schedules its polls on (tests fire them by hand); Node's timers by default. */
  liveTimers?: Timers | undefined;
}

export function createServices({ config, upstream, logger, reportUnknownEnum, liveTimers }: ServicesDependencies): Services {
  const { aggregates, live } = config;
  return {
    filterPageBudget: aggregates.filterPageBudget,
    summaryPageBudget: aggregates.summaryPageBudget,
    summaries: new SummaryCache({ ttlMs: aggregates.summaryTtlMs, computeTimeoutMs: config.operationTimeoutMs }),
    live: new BatchWatch({
      ...live,
      upstream,
      logger: logger.child({ component: 'live' }),
      reportUnknownEnum,
      // A poll gets the time budget of one operation, retries included.
      pollTimeoutMs: config.operationTimeoutMs,
      timers: liveTimers,
    }),
  };
}
