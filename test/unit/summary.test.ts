import { describe, expect, it, vi } from 'vitest';
import { SummaryCache } from '../../src/aggregates/summary-cache.js';
import { walkSummary, type SummaryPageReader } from '../../src/aggregates/summary-walk.js';
import type { BatchCall } from '../../src/model/batch-call.js';
import { BATCH_CALL_STATUSES, type BatchCallStatus } from '../../src/model/enums.js';
import { SummaryAccumulator, inScope, type SummaryScope } from '../../src/model/summary.js';
import type { CallOptions } from '../../src/upstream/client.js';
import { UpstreamError } from '../../src/upstream/errors.js';

const ALL: SummaryScope = { agentId: null, createdAfter: null, createdBefore: null };
const T0 = Date.UTC(2025, 0, 1);

function batch(id: string, agentId: string, status: BatchCallStatus, createdMs: number, calls: [number, number, number | null]): BatchCall {
  const [scheduled, dispatched, finished] = calls;
  return {
    batchId: id, name: id, agentId, agentName: `name of ${agentId}`, status,
    phoneNumberId: null, phoneProvider: null, whatsappParams: null,
    createdAt: new Date(createdMs), scheduledAt: new Date(createdMs), lastUpdatedAt: new Date(createdMs),
    totalCallsScheduled: scheduled, totalCallsDispatched: dispatched, totalCallsFinished: finished, retryCount: 0,
    branchId: null, branchName: null, environment: null, timezone: null, telephonyCallConfig: null, targetConcurrencyLimit: null,
    recipients: null,
  };
}

const count = (byStatus: ReadonlyArray<{ status: BatchCallStatus; count: number }>, status: BatchCallStatus): number =>
  byStatus.find((c) => c.status === status)?.count ?? -1;

describe('inScope', () => {
  it('is half-open: createdAfter included, createdBefore excluded', () => {
    const scope = { agentId: null, createdAfter: new Date(T0), createdBefore: new Date(T0 + 1000) };
    expect(inScope({ agentId: 'a', createdAt: new Date(T0 - 1) }, scope)).toBe(false);
    expect(inScope({ agentId: 'a', createdAt: new Date(T0) }, scope)).toBe(true);
    expect(inScope({ agentId: 'a', createdAt: new Date(T0 + 999) }, scope)).toBe(true);
    expect(inScope({ agentId: 'a', createdAt: new Date(T0 + 1000) }, scope)).toBe(false);
  });

  it('filters by agent', () => {
    expect(inScope({ agentId: 'a', createdAt: new Date(T0) }, { ...ALL, agentId: 'b' })).toBe(false);
    expect(inScope({ agentId: 'b', createdAt: new Date(T0) }, { ...ALL, agentId: 'b' })).toBe(true);
  });
});

describe('SummaryAccumulator', () => {
  const batches = [
    batch('b1', 'agent_b', 'COMPLETED', T0 + 5000, [10, 10, 10]),
    batch('b2', 'agent_a', 'IN_PROGRESS', T0 + 4000, [20, 7, 3]),
    batch('b3', 'agent_b', 'FAILED', T0 + 3000, [5, 5, null]),
    batch('b4', 'agent_a', 'UNKNOWN', T0 + 2000, [1, 0, 0]),
    batch('b5', 'agent_c', 'PENDING', T0 + 1000, [2, 0, 0]),
  ];

  it('counts batches per status (all statuses, zeros included), calls and agents', () => {
    const accumulator = new SummaryAccumulator(ALL);
    accumulator.add(batches);
    const summary = accumulator.result({ partial: false, pagesRead: 1, computedAt: new Date(T0) });
    expect(summary.batchCount).toBe(5);
    expect(summary.byStatus.map((c) => c.status)).toEqual([...BATCH_CALL_STATUSES]);
    expect(summary.byStatus.map((c) => c.count)).toEqual([1, 1, 1, 1, 0, 1]);
    expect(summary).toMatchObject({ callsScheduled: 38, callsDispatched: 22, callsFinished: 13, partial: false, pagesRead: 1 });
    expect(summary.oldestCreatedAt?.getTime()).toBe(T0 + 1000);
    // Ties on batchCount are ordered by agent id.
    expect(summary.agents.map((a) => [a.agent.agentId, a.batchCount])).toEqual([['agent_a', 2], ['agent_b', 2], ['agent_c', 1]]);
    const agentB = summary.agents[1];
    expect(agentB?.agent.name).toBe('name of agent_b');
    expect(agentB).toMatchObject({ callsScheduled: 15, callsDispatched: 15, callsFinished: 10 });
    expect(count(agentB?.byStatus ?? [], 'FAILED')).toBe(1);
    expect(count(agentB?.byStatus ?? [], 'CANCELLED')).toBe(0);
  });

  it('orders agents by batch count first', () => {
    const accumulator = new SummaryAccumulator(ALL);
    accumulator.add([...batches, batch('b6', 'agent_c', 'PENDING', T0, [0, 0, 0]), batch('b7', 'agent_c', 'PENDING', T0, [0, 0, 0])]);
    expect(accumulator.result({ partial: false, pagesRead: 1, computedAt: new Date(T0) }).agents.map((a) => a.agent.agentId))
      .toEqual(['agent_c', 'agent_a', 'agent_b']);
  });

  it('skips batches out of scope and counts a batch seen twice once', () => {
    const accumulator = new SummaryAccumulator({ agentId: null, createdAfter: new Date(T0 + 2000), createdBefore: new Date(T0 + 5000) });
    accumulator.add(batches.slice(0, 3));
    accumulator.add(batches.slice(2));
    const summary = accumulator.result({ partial: true, pagesRead: 2, computedAt: new Date(T0) });
    expect(summary.batchCount).toBe(3);
    expect(summary.callsScheduled).toBe(26);
    expect(summary.oldestCreatedAt?.getTime()).toBe(T0 + 2000);
    expect(summary.partial).toBe(true);
  });

  it('names each agent as on its newest batch counted, whatever the list order', () => {
    const accumulator = new SummaryAccumulator(ALL);
    const renamed = (id: string, createdMs: number, name: string): BatchCall => ({ ...batch(id, 'agent_r', 'COMPLETED', createdMs, [1, 1, 1]), agentName: name });
    accumulator.add([renamed('b1', T0 + 1_000, 'Middle name'), renamed('b2', T0 + 5_000, 'Newest name'), renamed('b3', T0, 'Oldest name')]);
    const [agent] = accumulator.result({ partial: false, pagesRead: 1, computedAt: new Date(T0) }).agents;
    expect(agent?.agent.name).toBe('Newest name');
    expect(agent?.batchCount).toBe(3);
  });

  it('is empty but complete when nothing is in scope', () => {
    const accumulator = new SummaryAccumulator({ ...ALL, agentId: 'nobody' });
    accumulator.add(batches);
    const summary = accumulator.result({ partial: false, pagesRead: 1, computedAt: new Date(T0) });
    expect(summary).toMatchObject({ batchCount: 0, callsScheduled: 0, agents: [], oldestCreatedAt: null });
    expect(summary.byStatus.every((c) => c.count === 0)).toBe(true);
    expect(summary.byStatus).toHaveLength(BATCH_CALL_STATUSES.length);
  });
});

describe('walkSummary', () => {
  /** Pages of `size` over `items`, with next_doc = the index to resume at. */
  function pages(items: BatchCall[], size: number): { readPage: SummaryPageReader; reads: Array<string | null> } {
    const reads: Array<string | null> = [];
    return {
      reads,
      readPage: async (lastDoc) => {
        reads.push(lastDoc);
        const start = lastDoc === null ? 0 : Number(lastDoc);
        const end = start + size;
        return { items: items.slice(start, end), nextDoc: end < items.length ? String(end) : null, hasMore: end < items.length };
      },
    };
  }
  const items = Array.from({ length: 25 }, (_, i) => batch(`b${i}`, `agent_${i % 3}`, 'COMPLETED', T0 - i * 1000, [2, 2, 1]));

  it('follows next_doc to the end of the list', async () => {
    const { readPage, reads } = pages(items, 10);
    const summary = await walkSummary({ scope: ALL, pageBudget: 5, readPage, now: () => T0 });
    expect(reads).toEqual([null, '10', '20']);
    expect(summary).toMatchObject({ batchCount: 25, pagesRead: 3, partial: false, callsFinished: 25 });
    expect(summary.computedAt.getTime()).toBe(T0);
  });

  it('stops at the budget and says so, with the figures of the pages read', async () => {
    const { readPage, reads } = pages(items, 10);
    const summary = await walkSummary({ scope: ALL, pageBudget: 2, readPage });
    expect(reads).toEqual([null, '10']);
    expect(summary).toMatchObject({ batchCount: 20, pagesRead: 2, partial: true });
    expect(summary.oldestCreatedAt?.getTime()).toBe(T0 - 19_000);
  });

  it('is not partial when the budget ends exactly with the list', async () => {
    const { readPage } = pages(items, 10);
    expect(await walkSummary({ scope: ALL, pageBudget: 3, readPage })).toMatchObject({ pagesRead: 3, partial: false });
  });

  it('does not stop early at createdAfter (the upstream does not document its order)', async () => {
    const { readPage, reads } = pages(items, 10);
    const summary = await walkSummary({ scope: { ...ALL, createdAfter: new Date(T0 - 4000) }, pageBudget: 5, readPage });
    expect(summary.batchCount).toBe(5);
    expect(reads).toHaveLength(3);
  });

  it('ends at has_more without a next_doc', async () => {
    const readPage = vi.fn<SummaryPageReader>(async () => ({ items: items.slice(0, 3), nextDoc: null, hasMore: true }));
    const summary = await walkSummary({ scope: ALL, pageBudget: 5, readPage });
    expect(readPage).toHaveBeenCalledTimes(1);
    expect(summary).toMatchObject({ batchCount: 3, partial: false });
  });

  it('fails with the page error', async () => {
    const error = new UpstreamError('UPSTREAM_UNAVAILABLE', 'down');
    let calls = 0;
    const readPage: SummaryPageReader = async () => {
      calls += 1;
      if (calls === 2) throw error;
      return { items: items.slice(0, 10), nextDoc: 'x', hasMore: true };
    };
    await expect(walkSummary({ scope: ALL, pageBudget: 5, readPage })).rejects.toBe(error);
  });
});

/** A computation the test settles by hand, recording the call options it was given. */
function deferred<T>() {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const calls: CallOptions[] = [];
  const compute = vi.fn((call: CallOptions) => {
    calls.push(call);
    return new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
  });
  return { compute, calls, resolve: (value: T) => resolve(value), reject: (error: unknown) => reject(error) };
}

describe('SummaryCache', () => {
  const options = (now: () => number, ttlMs = 1000) => ({ ttlMs, computeTimeoutMs: 5000, now });

  it('reuses a result until its TTL ends', async () => {
    let now = 0;
    const cache = new SummaryCache<string>(options(() => now));
    const compute = vi.fn(async () => `computed at ${now}`);
    expect(await cache.get('k', compute, {})).toBe('computed at 0');
    now = 999;
    expect(await cache.get('k', compute, {})).toBe('computed at 0');
    expect(compute).toHaveBeenCalledTimes(1);
    now = 1000;
    expect(await cache.get('k', compute, {})).toBe('computed at 1000');
    expect(compute).toHaveBeenCalledTimes(2);
  });

  it('keys results apart', async () => {
    const cache = new SummaryCache<string>(options(() => 0));
    expect(await cache.get('a', async () => 'A', {})).toBe('A');
    expect(await cache.get('b', async () => 'B', {})).toBe('B');
    expect(await cache.get('a', async () => 'other', {})).toBe('A');
  });

  it('shares one computation between concurrent identical requests', async () => {
    const cache = new SummaryCache<string>(options(() => 0));
    const { compute, resolve } = deferred<string>();
    const first = cache.get('k', compute, {});
    const second = cache.get('k', compute, {});
    resolve('shared');
    expect(await Promise.all([first, second])).toEqual(['shared', 'shared']);
    expect(compute).toHaveBeenCalledTimes(1);
  });

  it('gives the computation its own deadline and cancellation, not the caller\'s', async () => {
    const cache = new SummaryCache<string>({ ttlMs: 1000, computeTimeoutMs: 5000 });
    const { compute, calls, resolve } = deferred<string>();
    const caller = new AbortController();
    const started = Date.now();
    const pending = cache.get('k', compute, { signal: caller.signal, deadline: started + 200 });
    expect(calls[0]?.deadline).toBeGreaterThanOrEqual(started + 5000);
    expect(calls[0]?.deadline).toBeLessThanOrEqual(Date.now() + 5000);
    expect(calls[0]?.signal).not.toBe(caller.signal);
    resolve('x');
    await pending;
  });

  it('lets a caller leave without cancelling the computation for the others', async () => {
    const cache = new SummaryCache<string>(options(() => 0));
    const { compute, calls, resolve } = deferred<string>();
    const leaving = new AbortController();
    const first = cache.get('k', compute, { signal: leaving.signal });
    const second = cache.get('k', compute, {});
    leaving.abort(new Error('client gone'));
    await expect(first).rejects.toThrow('client gone');
    expect(calls[0]?.signal?.aborted).toBe(false);
    resolve('still here');
    expect(await second).toBe('still here');
    expect(compute).toHaveBeenCalledTimes(1);
  });

  it('lets a caller leave at its own deadline with UPSTREAM_TIMEOUT', async () => {
    const cache = new SummaryCache<string>({ ttlMs: 1000, computeTimeoutMs: 60_000 });
    const { compute, resolve } = deferred<string>();
    const patient = cache.get('k', compute, {});
    const hurried = cache.get('k', compute, { deadline: Date.now() + 20 });
    await expect(hurried).rejects.toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    resolve('done');
    expect(await patient).toBe('done');
  });

  it('cancels the computation when nobody waits for it any more, and starts afresh after', async () => {
    const cache = new SummaryCache<string>(options(() => 0));
    const { compute, calls, reject } = deferred<string>();
    const leaving = new AbortController();
    const only = cache.get('k', compute, { signal: leaving.signal });
    leaving.abort(new Error('gone'));
    await expect(only).rejects.toThrow('gone');
    expect(calls[0]?.signal?.aborted).toBe(true);
    reject(new Error('aborted'));
    expect(await cache.get('k', async () => 'fresh', {})).toBe('fresh');
  });

  it('does not keep a failed computation', async () => {
    const cache = new SummaryCache<string>(options(() => 0));
    const { compute, reject } = deferred<string>();
    const first = cache.get('k', compute, {});
    const joined = cache.get('k', compute, {});
    const failure = new UpstreamError('UPSTREAM_UNAVAILABLE', 'down');
    reject(failure);
    await expect(first).rejects.toBe(failure);
    await expect(joined).rejects.toBe(failure);
    expect(cache.size).toBe(0);
    expect(await cache.get('k', async () => 'retried', {})).toBe('retried');
  });

  it('keeps at most maxEntries results, dropping the oldest', async () => {
    const cache = new SummaryCache<string>({ ttlMs: 1000, computeTimeoutMs: 5000, maxEntries: 2, now: () => 0 });
    for (const key of ['a', 'b', 'c']) await cache.get(key, async () => key, {});
    expect(cache.size).toBe(2);
    const again = vi.fn(async () => 'recomputed');
    expect(await cache.get('a', again, {})).toBe('recomputed');
    expect(await cache.get('c', again, {})).toBe('c');
    expect(again).toHaveBeenCalledTimes(1);
  });

  it('with a TTL of 0, neither keeps nor shares: each request computes within its own call options', async () => {
    const cache = new SummaryCache<string>(options(() => 0, 0));
    const compute = vi.fn(async (call: CallOptions) => String(call.deadline));
    expect(await Promise.all([cache.get('k', compute, { deadline: 1 }), cache.get('k', compute, { deadline: 2 })])).toEqual(['1', '2']);
    expect(compute).toHaveBeenCalledTimes(2);
    expect(cache.size).toBe(0);
  });
});
