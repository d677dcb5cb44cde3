import type { Agent } from './agent.js';
import type { BatchCall } from './batch-call.js';
import { BATCH_CALL_STATUSES, type BatchCallStatus } from './enums.js';

/** Which batches a summary counts. A range is half-open: `createdAfter` ≤ created < `createdBefore`. */
export interface SummaryScope {
  agentId: string | null;
  createdAfter: Date | null;
  createdBefore: Date | null;
}

/** How many batches are in one status. */
export interface BatchCallStatusCount {
  status: BatchCallStatus;
  count: number;
}

/** The figures a summary gives for a set of batches (the whole scope, or one agent's share of it). */
export interface BatchFigures {
  batchCount: number;
  /** Every batch status in enum order, zeros included. */
  byStatus: readonly BatchCallStatusCount[];
  callsScheduled: number;
  callsDispatched: number;
  /** Sum of `total_calls_finished`; a batch whose upstream omits it adds 0. */
  callsFinished: number;
}

export interface AgentSummary extends BatchFigures {
  agent: Agent;
}

export interface BatchCallsSummary extends BatchFigures {
  /** One per agent with a batch in scope: most batches first, then by agent id. */
  agents: readonly AgentSummary[];
  /** The page budget stopped the walk before the end of the list. */
  partial: boolean;
  pagesRead: number;
  /** Created time of the oldest batch counted; null when none was. */
  oldestCreatedAt: Date | null;
  computedAt: Date;
}

/** Whether a batch falls in the scope (the agent filter included, for upstreams that ignore it). */
export function inScope(batch: Pick<BatchCall, 'agentId' | 'createdAt'>, scope: SummaryScope): boolean {
  const created = batch.createdAt.getTime();
  return (
    (scope.agentId === null || batch.agentId === scope.agentId) &&
    (scope.createdAfter === null || created >= scope.createdAfter.getTime()) &&
    (scope.createdBefore === null || created < scope.createdBefore.getTime())
  );
}

/** Running totals for one set of batches. */
class Tally {
  batchCount = 0;
  callsScheduled = 0;
  callsDispatched = 0;
  callsFinished = 0;
  readonly statuses = new Map<BatchCallStatus, number>(BATCH_CALL_STATUSES.map((status) => [status, 0]));

  add(batch: BatchCall): void {
    this.batchCount += 1;
    this.callsScheduled += batch.totalCallsScheduled;
    this.callsDispatched += batch.totalCallsDispatched;
    this.callsFinished += batch.totalCallsFinished ?? 0;
    this.statuses.set(batch.status, (this.statuses.get(batch.status) ?? 0) + 1);
  }

  figures(): BatchFigures {
    return {
      batchCount: this.batchCount,
      byStatus: BATCH_CALL_STATUSES.map((status) => ({ status, count: this.statuses.get(status) ?? 0 })),
      callsScheduled: this.callsScheduled,
      callsDispatched: this.callsDispatched,
      callsFinished: this.callsFinished,
    };
  }
}

/**
 * Folds list items into a summary, one page at a time. Batches outside the scope are skipped, and
 * a batch seen twice (an upstream list that shifts while it is walked) is counted once.
 */
export class SummaryAccumulator {
  readonly #scope: SummaryScope;
  readonly #all = new Tally();
  readonly #agents = new Map<string, { agent: Agent; namedAt: Date; tally: Tally }>();
  readonly #seen = new Set<string>();
  #oldest: Date | null = null;

  constructor(scope: SummaryScope) {
    this.#scope = scope;
  }

  add(batches: readonly BatchCall[]): void {
    for (const batch of batches) {
      if (this.#seen.has(batch.batchId) || !inScope(batch, this.#scope)) continue;
      this.#seen.add(batch.batchId);
      this.#all.add(batch);
      let agent = this.#agents.get(batch.agentId);
      if (agent === undefined) {
        agent = { agent: { agentId: batch.agentId, name: batch.agentName }, namedAt: batch.createdAt, tally: new Tally() };
        this.#agents.set(batch.agentId, agent);
      } else if (batch.createdAt > agent.namedAt) {
        // Named as on its newest batch counted (by creation time: the list's order is not documented).
        agent.agent = { agentId: batch.agentId, name: batch.agentName };
        agent.namedAt = batch.createdAt;
      }
      agent.tally.add(batch);
      if (this.#oldest === null || batch.createdAt < this.#oldest) this.#oldest = batch.createdAt;
    }
  }

  result({ partial, pagesRead, computedAt }: { partial: boolean; pagesRead: number; computedAt: Date }): BatchCallsSummary {
    const agents = [...this.#agents.values()]
      .map(({ agent, tally }) => ({ agent, ...tally.figures() }))
      .sort((a, b) => b.batchCount - a.batchCount || compareStrings(a.agent.agentId, b.agent.agentId));
    return { ...this.#all.figures(), agents, partial, pagesRead, oldestCreatedAt: this.#oldest, computedAt };
  }
}

/** Code-unit order, the same on every machine (localeCompare is not). */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
