import DataLoader from 'dataloader';
import type { Logger } from './logger.js';
import { toBatchCall, type BatchCall } from './model/batch-call.js';
import type { UnknownEnumReporter } from './model/enums.js';
import type { UpstreamPage } from './pagination/upstream-window.js';
import type { Identity } from './security/auth.js';
import type { UpstreamBudget } from './security/budget.js';
import type { Services } from './services.js';
import type { CallOptions, UpstreamClient } from './upstream/client.js';

export interface BatchPageKey {
  limit: number;
  lastDoc: string | null;
  agentId: string | null;
}

/**
 * Everything a resolver may use for one GraphQL operation. Loaders live here, created fresh for
 * each request: a loader shared across requests would be a cache across users with no expiry.
 * The batch-detail loader is the dataloader plugin's, kept per context by Pothos (see batch-call.ts).
 */
export interface Context {
  readonly upstream: UpstreamClient;
  readonly logger: Logger;
  readonly reportUnknownEnum: UnknownEnumReporter;
  /** Passed to every upstream call: the client's cancellation and the operation's deadline. */
  readonly call: CallOptions;
  /** Upstream calls this operation may still make. */
  readonly budget: UpstreamBudget;
  /** The authenticated client (or anonymous). */
  readonly identity: Identity;
  /** Upstream list pages, one call per distinct (limit, last_doc, agent_id) in an operation. */
  readonly batchPages: DataLoader<BatchPageKey, UpstreamPage<BatchCall>, string>;
  /** Shared by every request: scan budgets, summaries, live watch. */
  readonly services: Services;
}

export interface ContextDependencies {
  upstream: UpstreamClient;
  logger: Logger;
  reportUnknownEnum: UnknownEnumReporter;
  call: CallOptions;
  budget: UpstreamBudget;
  identity: Identity;
  services: Services;
}

export function createContext({ upstream, logger, reportUnknownEnum, call, budget, identity, services }: ContextDependencies): Context {
  const fetchPage = async ({ limit, lastDoc, agentId }: BatchPageKey): Promise<UpstreamPage<BatchCall>> => {
    budget.spend();
    const page = await upstream.listBatches({ limit, lastDoc: lastDoc ?? undefined, agentId: agentId ?? undefined }, call);
    return {
      items: page.batch_calls.map((wire) => toBatchCall(wire, reportUnknownEnum)),
      nextDoc: page.next_doc ?? null,
      hasMore: page.has_more === true,
    };
  };
  return {
    upstream,
    logger,
    reportUnknownEnum,
    call,
    budget,
    identity,
    services,
    batchPages: new DataLoader((keys) => Promise.all(keys.map((key) => fetchPage(key).catch(asError))), {
      cacheKeyFn: ({ limit, lastDoc, agentId }) => JSON.stringify([limit, lastDoc, agentId]),
    }),
  };
}

export function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

/** Logs each unknown upstream enum value once per process (bounded), not once per item. */
export function createUnknownEnumReporter(logger: Logger, limit = 1000): UnknownEnumReporter {
  const seen = new Set<string>();
  return (enumName, value) => {
    const key = `${enumName}:${value}`;
    if (seen.has(key) || seen.size >= limit) return;
    seen.add(key);
    logger.warn({ enum: enumName, value: value.slice(0, 100) }, 'unknown upstream enum value mapped to UNKNOWN');
  };
}
