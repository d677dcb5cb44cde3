import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/simulator/clock.js';
import { codes, startStack, type GraphQLResponse, type Stack } from './helpers/stack.js';

const STATUSES = ['PENDING', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED', 'UNKNOWN'];

interface Figures {
  batchCount: number;
  byStatus: Array<{ status: string; count: number }>;
  callsScheduled: number;
  callsDispatched: number;
  callsFinished: number;
}
interface Summary extends Figures {
  agents: Array<Figures & { agent: { agentId: string; name: string } }>;
  partial: boolean;
  pagesRead: number;
  oldestCreatedAt: string | null;
  computedAt: string;
}

const FIGURES = 'batchCount byStatus { status count } callsScheduled callsDispatched callsFinished';
const SUMMARY = `query($agentId: String, $after: DateTime, $before: DateTime) {
  batchCallsSummary(agentId: $agentId, createdAfter: $after, createdBefore: $before) {
    ${FIGURES} agents { agent { agentId name } ${FIGURES} } partial pagesRead oldestCreatedAt computedAt
  }
}`;

interface Scope {
  agentId?: string;
  after?: Date;
  before?: Date;
}

async function summary(stack: Stack, scope: Scope = {}): Promise<GraphQLResponse<{ batchCallsSummary: Summary }>> {
  return stack.gql<{ batchCallsSummary: Summary }>(SUMMARY, {
    agentId: scope.agentId,
    after: scope.after?.toISOString(),
    before: scope.before?.toISOString(),
  });
}

async function summaryData(stack: Stack, scope: Scope = {}): Promise<Summary> {
  const response = await summary(stack, scope);
  expect(response.body.errors).toBeUndefined();
  const data = response.body.data?.batchCallsSummary;
  if (data === undefined) throw new Error('no summary');
  return data;
}

/**
 * The summary worked out here from the simulator's own data: the batches of `ids` (list order)
 * in scope, grouped and summed without the gateway's code.
 */
function expected(stack: Stack, scope: Scope, ids = stack.simulator.store.batchIds(scope.agentId)): Omit<Summary, 'computedAt' | 'pagesRead' | 'partial'> {
  const batches = ids
    .map((id) => stack.simulator.store.getBatch(id))
    .filter((b) => b !== undefined)
    .filter((b) => (scope.after === undefined || b.created_at_unix * 1000 >= scope.after.getTime()) &&
      (scope.before === undefined || b.created_at_unix * 1000 < scope.before.getTime()));
  const figures = (set: typeof batches): Figures => ({
    batchCount: set.length,
    byStatus: STATUSES.map((status) => ({
      status,
      count: set.filter((b) => (STATUSES.includes(b.status.toUpperCase()) ? b.status.toUpperCase() : 'UNKNOWN') === status).length,
    })),
    callsScheduled: set.reduce((sum, b) => sum + b.total_calls_scheduled, 0),
    callsDispatched: set.reduce((sum, b) => sum + b.total_calls_dispatched, 0),
    callsFinished: set.reduce((sum, b) => sum + (b.total_calls_finished ?? 0), 0),
  });
  const agentIds = [...new Set(batches.map((b) => b.agent_id))];
  const agents = agentIds
    .map((agentId) => {
      const own = batches.filter((b) => b.agent_id === agentId);
      return { agent: { agentId, name: own[0]?.agent_name ?? '' }, ...figures(own) };
    })
    .sort((a, b) => b.batchCount - a.batchCount || (a.agent.agentId < b.agent.agentId ? -1 : 1));
  const oldest = Math.min(...batches.map((b) => b.created_at_unix));
  return {
    ...figures(batches),
    agents,
    oldestCreatedAt: batches.length === 0 ? null : new Date(oldest * 1000).toISOString(),
  };
}

/** Created times in list order, to pick range bounds that fall on real batches. */
function createdTimes(stack: Stack): number[] {
  return stack.simulator.store.batchIds().map((id) => (stack.simulator.store.getBatch(id)?.created_at_unix ?? 0) * 1000);
}

describe('Query.batchCallsSummary figures', () => {
  let stack: Stack;
  beforeAll(async () => {
    // Not cached, so that every request walks and its upstream calls can be counted.
    stack = await startStack({ clock: new ManualClock(Date.now()), env: { SUMMARY_CACHE_TTL_MS: '0' } });
    const { store } = stack.simulator;
    // A batch whose upstream omits total_calls_finished (the older detail shape) adds 0.
    const [someId] = store.batchIds();
    if (someId === undefined) throw new Error('no batch');
    store.patchBatch(someId, { total_calls_finished: undefined });
    // A batch status the gateway does not know.
    const other = store.batchIds()[5];
    if (other === undefined) throw new Error('no batch');
    store.patchBatch(other, { status: 'archived' });
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => {
    stack.resetCalls();
  });

  it('equals the figures computed from the simulator for the whole workspace', async () => {
    const data = await summaryData(stack);
    expect(data).toMatchObject(expected(stack, {}));
    expect(data.batchCount).toBe(stack.simulator.store.batchIds().length);
    expect(data.byStatus.find((c) => c.status === 'UNKNOWN')?.count).toBe(1);
    expect(data.agents).toHaveLength(stack.simulator.store.agents().length);
    expect(data.partial).toBe(false);
    // Every page read is one list call of 100 at the simulator, and nothing else is called.
    expect(data.pagesRead).toBe(Math.ceil(data.batchCount / 100));
    expect(stack.calls('list')).toHaveLength(data.pagesRead);
    expect(stack.calls('detail')).toHaveLength(0);
    for (const call of stack.calls('list')) expect(new URL(call.url, 'http://x').searchParams.get('limit')).toBe('100');
  });

  it('equals the figures of one agent, asked upstream with agent_id', async () => {
    for (const { id } of stack.simulator.store.agents().slice(0, 2)) {
      stack.resetCalls();
      const data = await summaryData(stack, { agentId: id });
      expect(data).toMatchObject(expected(stack, { agentId: id }));
      expect(data.agents.map((a) => a.agent.agentId)).toEqual([id]);
      expect(data.batchCount).toBeGreaterThan(0);
      expect(stack.calls('list')).toHaveLength(data.pagesRead);
      for (const call of stack.calls('list')) expect(new URL(call.url, 'http://x').searchParams.get('agent_id')).toBe(id);
    }
  });

  it('equals the figures of a created-time range (createdAfter included, createdBefore excluded)', async () => {
    const times = createdTimes(stack);
    const before = new Date(times[20] ?? 0);
    const after = new Date(times[90] ?? 0);
    const data = await summaryData(stack, { after, before });
    expect(data).toMatchObject(expected(stack, { after, before }));
    expect(data.batchCount).toBeGreaterThan(50);
    expect(data.oldestCreatedAt).toBe(after.toISOString());
    expect(stack.calls('list')).toHaveLength(data.pagesRead);
  });

  it('equals the figures of an agent within a range', async () => {
    const times = createdTimes(stack);
    const agentId = stack.simulator.store.agents()[2]?.id ?? '';
    const scope = { agentId, after: new Date(times[120] ?? 0), before: new Date(times[10] ?? 0) };
    const data = await summaryData(stack, scope);
    expect(data).toMatchObject(expected(stack, scope));
    expect(data.batchCount).toBeGreaterThan(0);
  });

  it('is empty, not an error, when nothing matches', async () => {
    const data = await summaryData(stack, { agentId: 'agent_nobody' });
    expect(data).toMatchObject({ batchCount: 0, agents: [], oldestCreatedAt: null, partial: false, pagesRead: 1 });
    expect(data.byStatus.map((c) => c.count)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('refuses bad arguments before any upstream call', async () => {
    const now = Date.now();
    for (const scope of [
      { after: new Date(now), before: new Date(now) },
      { after: new Date(now), before: new Date(now - 1000) },
      { agentId: '../batch-calling/workspace' },
    ]) {
      const response = await summary(stack, scope);
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.body.data).toBeNull();
    }
    expect(stack.calls()).toHaveLength(0);
  });
});

describe('Query.batchCallsSummary page budget', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ clock: new ManualClock(Date.now()), env: { SUMMARY_PAGE_BUDGET: '1', SUMMARY_CACHE_TTL_MS: '0' } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('says the answer is partial and gives the figures of exactly the pages read', async () => {
    const ids = stack.simulator.store.batchIds();
    expect(ids.length).toBeGreaterThan(100);
    const data = await summaryData(stack);
    expect(data).toMatchObject({ partial: true, pagesRead: 1, ...expected(stack, {}, ids.slice(0, 100)) });
    expect(stack.calls('list')).toHaveLength(1);
  });

  it('is complete when the scope fits in the budget', async () => {
    const agentId = stack.simulator.store.agents()[0]?.id ?? '';
    expect(stack.simulator.store.batchIds(agentId).length).toBeLessThanOrEqual(100);
    expect(await summaryData(stack, { agentId })).toMatchObject({ partial: false, pagesRead: 1 });
  });
});

describe('Query.batchCallsSummary cache', () => {
  let stack: Stack;
  const TTL_MS = 1_000;
  beforeAll(async () => {
    stack = await startStack({
      clock: new ManualClock(Date.now()),
      env: { SUMMARY_CACHE_TTL_MS: String(TTL_MS), UPSTREAM_MAX_RETRIES: '0' },
    });
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => {
    stack.simulator.faults.clear();
    stack.resetCalls();
  });

  it('reuses a summary within the TTL and walks again after it', async () => {
    const agentId = stack.simulator.store.agents()[1]?.id ?? '';
    const first = await summaryData(stack, { agentId });
    expect(stack.calls('list')).toHaveLength(first.pagesRead);
    stack.resetCalls();
    const second = await summaryData(stack, { agentId });
    expect(stack.calls()).toHaveLength(0);
    expect(second).toEqual(first);
    // Other arguments are another summary.
    await summaryData(stack, { agentId: stack.simulator.store.agents()[2]?.id ?? '' });
    expect(stack.calls('list').length).toBeGreaterThan(0);
    stack.resetCalls();
    await sleep(TTL_MS + 50);
    const third = await summaryData(stack, { agentId });
    expect(stack.calls('list')).toHaveLength(third.pagesRead);
    expect(Date.parse(third.computedAt)).toBeGreaterThan(Date.parse(first.computedAt));
  });

  it('makes one walk for concurrent identical requests', async () => {
    // Slow pages, so the requests overlap.
    stack.simulator.faults.add({ kind: 'delay', route: 'list', delayMs: 150 });
    const scope = { after: new Date(0) };
    const results = await Promise.all([1, 2, 3].map(() => summaryData(stack, scope)));
    const pages = results[0]?.pagesRead ?? 0;
    expect(pages).toBe(2);
    expect(stack.calls('list')).toHaveLength(pages);
    expect(new Set(results.map((r) => r.computedAt)).size).toBe(1);
    expect(results[1]).toEqual(results[0]);
  });

  it('fails with the upstream code when a page fails mid-walk, and keeps nothing', async () => {
    const scope = { before: new Date(Date.now() + 86_400_000) };
    // The first page is slow; once it has arrived, the next list call fails.
    stack.simulator.faults.add({ kind: 'delay', route: 'list', delayMs: 300, times: 1 });
    const pending = summary(stack, scope);
    while (stack.calls('list').length === 0) await sleep(5);
    stack.simulator.faults.add({ kind: 'status', route: 'list', status: 503 });
    const failed = await pending;
    expect(codes(failed)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(failed.body.data).toBeNull();
    expect(stack.calls('list')).toHaveLength(2);
    expect(new URL(stack.calls('list')[1]?.url ?? '', 'http://x').searchParams.get('last_doc')).not.toBeNull();

    stack.simulator.faults.clear();
    stack.resetCalls();
    const retried = await summaryData(stack, scope);
    expect(retried.partial).toBe(false);
    expect(stack.calls('list')).toHaveLength(retried.pagesRead);
  });

  it('passes the upstream code of a first-page failure', async () => {
    stack.simulator.faults.add({ kind: 'status', route: 'list', status: 429, retryAfter: '7', times: 1 });
    const response = await summary(stack, { agentId: 'agent_rate_limited' });
    expect(codes(response)).toEqual(['UPSTREAM_RATE_LIMITED']);
    expect(response.body.errors?.[0]?.extensions?.['retryAfter']).toBe(7);
  });
});

describe('Query.batchCallsSummary and the operation budget', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ clock: new ManualClock(Date.now()), env: { QUERY_MAX_UPSTREAM_CALLS: '1' } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('spends one upstream call of the operation per page', async () => {
    const response = await summary(stack);
    expect(codes(response)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(stack.calls('list').length).toBeLessThanOrEqual(1);
  });
});
