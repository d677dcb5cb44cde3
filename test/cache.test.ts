/**
 * The cross-request upstream cache, over real HTTP: a gateway (CACHE_ENABLED=true) in front of the
 * upstream simulator. Every claim is counted at the simulator (requests it received) and, where it
 * helps, cross-checked with the gateway's /metrics.
 *
 * TTLs run on real time, so they are short here and every timing assertion has a wide margin:
 * "not refetched" is checked right after the first read (far inside the TTL), "refetched" well
 * after the TTL has run out. The simulator's clock is frozen (ManualClock) so no batch changes
 * status while a test runs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { Secret } from '../src/secret.js';
import { startGateway, type Gateway } from '../src/server.js';
import { ManualClock } from '../src/simulator/clock.js';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { ResponseCache } from '../src/upstream/cache.js';
import { UpstreamClient } from '../src/upstream/client.js';
import { UpstreamError } from '../src/upstream/errors.js';
import { TEST_API_KEY } from './helpers/stack.js';

// ---------------------------------------------------------------------------------------------
// A small rig: one simulator, one gateway on loopback; the simulator can be set up before the
// gateway starts (the eviction test sizes CACHE_MAX_BYTES from the simulator's bodies).

interface Body<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

interface Rig {
  simulator: Simulator;
  gateway: Gateway;
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, signal?: AbortSignal): Promise<Body<T>>;
  /** Upstream requests the simulator received (since the last reset), optionally for one route / batch. */
  calls(route?: 'list' | 'detail', batchId?: string): number;
  metrics(): Promise<Metrics>;
  close(): Promise<void>;
}

type Metrics = { text: string; get(series: string): number };

async function startSim(): Promise<Simulator> {
  // A still clock: batches keep the status they were added with.
  return startSimulator({ apiKey: TEST_API_KEY, clock: new ManualClock(Date.now()) });
}

async function startRig(env: Record<string, string>, simulator?: Simulator): Promise<Rig> {
  const sim = simulator ?? (await startSim());
  const config = loadConfig({
    ELEVENLABS_API_KEY: TEST_API_KEY,
    ELEVENLABS_BASE_URL: sim.url,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    RATE_LIMIT_MAX: '0',
    CACHE_ENABLED: 'true',
    ...env,
  });
  const gateway = await startGateway({ config, logger: createLogger({ level: 'silent' }) });
  return {
    simulator: sim,
    gateway,
    async gql<T>(query: string, variables?: Record<string, unknown>, signal?: AbortSignal) {
      const response = await fetch(`${gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
        body: JSON.stringify({ query, variables }),
        ...(signal === undefined ? {} : { signal }),
      });
      return (await response.json()) as Body<T>;
    },
    calls: (route, batchId) =>
      sim.requests.filter((r) => (route === undefined || r.route === route) && (batchId === undefined || r.batchId === batchId)).length,
    async metrics() {
      const text = await (await fetch(`${gateway.url}/metrics`)).text();
      return { text, get: (series: string) => metricValue(text, series) };
    },
    async close() {
      await gateway.close(1_000);
      await sim.close();
    },
  };
}

/** The value of one series (`name` or `name{labels}` exactly as prom-client prints it); 0 when absent. */
function metricValue(text: string, series: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

const DETAIL = `query($id: ID!) {
  batchCall(id: $id) { batchId name status totalCallsScheduled lastUpdatedAt
    recipients(first: 3) { totalCount edges { node { recipientId status phoneNumber } } } }
}`;
const LIST = `query($first: Int) { batchCalls(first: $first) { edges { node { batchId name status } } } }`;

interface DetailData {
  batchCall: { batchId: string; name: string; status: string; recipients: { totalCount: number } } | null;
}
interface ListData {
  batchCalls: { edges: Array<{ node: { batchId: string; name: string; status: string } }> };
}

const detail = (rig: Rig, id: string, signal?: AbortSignal): Promise<Body<DetailData>> => rig.gql<DetailData>(DETAIL, { id }, signal);

async function detailOk(rig: Rig, id: string): Promise<NonNullable<DetailData['batchCall']>> {
  const body = await detail(rig, id);
  expect(body.errors).toBeUndefined();
  const batch = body.data?.batchCall;
  if (batch === null || batch === undefined) throw new Error(`no batch ${id} in ${JSON.stringify(body)}`);
  return batch;
}

async function listNames(rig: Rig, first: number): Promise<Map<string, string>> {
  const body = await rig.gql<ListData>(LIST, { first });
  expect(body.errors).toBeUndefined();
  return new Map((body.data?.batchCalls.edges ?? []).map((e) => [e.node.batchId, e.node.name]));
}

const DETAIL_OK = 'gateway_upstream_calls_total{route="detail",outcome="ok"}';
const DETAIL_CANCELLED = 'gateway_upstream_calls_total{route="detail",outcome="CANCELLED"}';

// ---------------------------------------------------------------------------------------------

const decoded = 'gateway_upstream_responses_decoded_total{route="detail"}';
const recipientsDecoded = 'gateway_upstream_responses_decoded_total{route="recipients"}';

describe('with the cache on: TTLs by kind of data', () => {
  const ACTIVE_TTL = 1_000;
  const LIST_TTL = 1_000;
  /** Past the short TTLs, with room for a slow machine. */
  const PAST_SHORT_TTL = 1_700;
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({
      CACHE_TTL_TERMINAL_MS: '120000',
      CACHE_TTL_ACTIVE_MS: String(ACTIVE_TTL),
      CACHE_TTL_LIST_MS: String(LIST_TTL),
    });
  });
  afterAll(async () => {
    await rig.close();
  });
  beforeEach(() => {
    rig.simulator.faults.clear();
    rig.simulator.clearRequests();
  });

  it('a terminal batch read twice within its TTL costs one upstream call; both answers are identical', async () => {
    const id = rig.simulator.store.addBatch({ status: 'completed', recipients: 5 });
    const before = await rig.metrics();
    const first = await detail(rig, id);
    const second = await detail(rig, id);
    expect(first.errors).toBeUndefined();
    expect(first.data?.batchCall?.batchId).toBe(id);
    expect(first.data?.batchCall?.status).toBe('COMPLETED');
    expect(second).toEqual(first);
    expect(rig.calls('detail', id)).toBe(1);
    const after = await rig.metrics();
    expect(after.get('gateway_cache_misses_total') - before.get('gateway_cache_misses_total')).toBe(1);
    expect(after.get('gateway_cache_hits_total') - before.get('gateway_cache_hits_total')).toBe(1);
    expect(after.get(DETAIL_OK) - before.get(DETAIL_OK)).toBe(1);
  });

  it('TTL by status: after the active TTL pending / in-progress batches are fetched again, terminal ones are not', async () => {
    const store = rig.simulator.store;
    const statuses = ['pending', 'in_progress', 'completed', 'failed', 'cancelled'] as const;
    const ids = statuses.map((status) => store.addBatch({ status, recipients: 3 }));
    const readAll = (): Promise<string[]> => Promise.all(ids.map(async (id) => (await detailOk(rig, id)).status));
    expect(await readAll()).toEqual(['PENDING', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED']);
    // Well within every TTL: all from the cache.
    await readAll();
    expect(ids.map((id) => rig.calls('detail', id))).toEqual([1, 1, 1, 1, 1]);

    await sleep(PAST_SHORT_TTL);
    await readAll();
    expect(ids.map((id) => rig.calls('detail', id))).toEqual([2, 2, 1, 1, 1]);
    // The refetched active ones are cached again.
    await readAll();
    expect(ids.map((id) => rig.calls('detail', id))).toEqual([2, 2, 1, 1, 1]);
  });

  it('list pages are held for CACHE_TTL_LIST_MS, then fetched again', async () => {
    const first = await listNames(rig, 5);
    expect(first.size).toBe(5);
    expect(await listNames(rig, 5)).toEqual(first);
    expect(rig.calls('list')).toBe(1);
    // A different page (another limit) is another entry.
    await listNames(rig, 6);
    expect(rig.calls('list')).toBe(2);

    await sleep(PAST_SHORT_TTL);
    await listNames(rig, 5);
    expect(rig.calls('list')).toBe(3);
    // The refetched page is cached again.
    await listNames(rig, 5);
    expect(rig.calls('list')).toBe(3);
  });

  it('expiry: an upstream change is not visible within the TTL and is visible after it (detail and list)', async () => {
    const store = rig.simulator.store;
    // A terminal batch alongside: its change stays invisible for as long as its (long) TTL.
    const final = store.addBatch({ status: 'completed', recipients: 2, name: 'Final name' });
    expect((await detailOk(rig, final)).name).toBe('Final name');
    store.patchBatch(final, { name: 'Renamed later' });
    // Created in the future: it lists first (newest first), whatever else was added this second.
    const createdAtUnix = Math.floor(rig.simulator.clock.now() / 1000) + 3_600;
    const id = store.addBatch({ status: 'in_progress', recipients: 3, name: 'Before rename', createdAtUnix });
    expect((await detailOk(rig, id)).name).toBe('Before rename');
    expect((await listNames(rig, 3)).get(id)).toBe('Before rename');
    const lists = rig.calls('list');

    store.patchBatch(id, { name: 'After rename' });
    expect(store.getBatch(id)?.name).toBe('After rename');
    expect((await detailOk(rig, id)).name).toBe('Before rename');
    expect((await listNames(rig, 3)).get(id)).toBe('Before rename');
    expect(rig.calls('detail', id)).toBe(1);
    expect(rig.calls('list')).toBe(lists);

    await sleep(PAST_SHORT_TTL);
    expect((await detailOk(rig, id)).name).toBe('After rename');
    expect((await listNames(rig, 3)).get(id)).toBe('After rename');
    expect(rig.calls('detail', id)).toBe(2);
    expect(rig.calls('list')).toBe(lists + 1);
    expect((await detailOk(rig, final)).name).toBe('Final name');
    expect(rig.calls('detail', final)).toBe(1);
  });

  it('errors are not cached: a 404 is asked again, and a batch that appears afterwards is served', async () => {
    const body = await detail(rig, 'btcal_not_there_yet');
    expect(body.data?.batchCall ?? null).toBeNull();
    expect(body.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
    await detail(rig, 'btcal_not_there_yet');
    expect(rig.calls('detail', 'btcal_not_there_yet')).toBe(2);
    rig.simulator.store.addBatch({ id: 'btcal_not_there_yet', status: 'completed', recipients: 1 });
    expect((await detailOk(rig, 'btcal_not_there_yet')).batchId).toBe('btcal_not_there_yet');
    expect(rig.calls('detail', 'btcal_not_there_yet')).toBe(3);
  });

  it('decodes once per fetch: paging through recipients within the TTL costs one call and one decode', async () => {
    const store = rig.simulator.store;
    const id = store.addBatch({ status: 'completed', recipients: 30 });
    const expected = store.getBatch(id)?.recipients.map((r) => r.id) ?? [];
    expect(expected).toHaveLength(30);
    const before = await rig.metrics();

    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    type Page = { batchCall: { recipients: { edges: Array<{ node: { recipientId: string } }>; pageInfo: { endCursor: string | null; hasNextPage: boolean } } } };
    for (;;) {
      const body: Body<Page> = await rig.gql<Page>(
        `query($id: ID!, $after: String) { batchCall(id: $id) { recipients(first: 6, after: $after) {
          edges { node { recipientId } } pageInfo { endCursor hasNextPage } } } }`,
        { id, after },
      );
      expect(body.errors).toBeUndefined();
      const connection = body.data?.batchCall.recipients;
      if (connection === undefined) throw new Error('no recipients');
      seen.push(...connection.edges.map((e) => e.node.recipientId));
      pages += 1;
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
      if (pages > 10) throw new Error('paging does not end');
    }
    expect(pages).toBe(5);
    expect(seen).toEqual(expected);
    expect(rig.calls('detail', id)).toBe(1);
    const metrics = await rig.metrics();
    expect(metrics.get(decoded) - before.get(decoded)).toBe(1);
    expect(metrics.get(recipientsDecoded) - before.get(recipientsDecoded)).toBe(1);
    expect(metrics.get('gateway_cache_hits_total') - before.get('gateway_cache_hits_total')).toBe(4);
  });

  it('reads a batch\'s recipients only when a query selects them, once per fetch', async () => {
    const id = rig.simulator.store.addBatch({ status: 'completed', recipients: 12 });
    const before = await rig.metrics();
    const fields = await rig.gql<{ batchCall: { batchId: string } }>('query($id: ID!) { batchCall(id: $id) { batchId name status } }', { id });
    expect(fields.data?.batchCall.batchId).toBe(id);
    const fieldsOnly = await rig.metrics();
    expect(fieldsOnly.get(decoded) - before.get(decoded)).toBe(1);
    expect(fieldsOnly.get(recipientsDecoded) - before.get(recipientsDecoded)).toBe(0);
    for (let i = 0; i < 2; i += 1) {
      const body = await rig.gql<{ batchCall: { recipients: { totalCount: number } } }>(
        'query($id: ID!) { batchCall(id: $id) { recipients(first: 1) { totalCount } } }', { id });
      expect(body.data?.batchCall.recipients.totalCount).toBe(12);
    }
    const after = await rig.metrics();
    expect(after.get(decoded) - before.get(decoded)).toBe(1);
    expect(after.get(recipientsDecoded) - before.get(recipientsDecoded)).toBe(1);
    expect(rig.calls('detail', id)).toBe(1);
  });

  it('counts the cache in response bytes (UTF-8), as the simulator sent them', async () => {
    // A fresh rig: nothing else in its cache, so the gauge is exactly this one body.
    const own = await startRig({ CACHE_TTL_TERMINAL_MS: '120000' });
    try {
      const id = own.simulator.store.addBatch({ status: 'completed', recipients: 4, name: 'Relances – Zürich – 東京 ✓' });
      const bytes = own.simulator.store.detailBody(id)?.length ?? 0;
      expect(bytes).toBeGreaterThan(0);
      await detailOk(own, id);
      const metrics = await own.metrics();
      expect(metrics.get('gateway_cache_entries')).toBe(1);
      expect(metrics.get('gateway_cache_bytes')).toBe(bytes);
    } finally {
      await own.close();
    }
  });

  it('never shows the upstream key, nor its fingerprint, on /metrics', async () => {
    await detailOk(rig, rig.simulator.store.addBatch({ status: 'completed', recipients: 1 }));
    const { text } = await rig.metrics();
    expect(text).toContain('gateway_cache_hits_total');
    expect(text).not.toContain(TEST_API_KEY);
    expect(text).not.toContain(TEST_API_KEY.slice(8));
    expect(text).not.toContain(new Secret(TEST_API_KEY).fingerprint());
  });
});

// ---------------------------------------------------------------------------------------------

// Both HTTP front ends (the compiled fast path and yoga) hand the client's cancellation to the reads.
describe.each(['true', 'false'])('with the cache on: coalescing of identical reads in flight (GATEWAY_FAST_PATH=%s)', (fastPath) => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({
      CACHE_TTL_TERMINAL_MS: '120000',
      OPERATION_TIMEOUT_MS: '30000',
      UPSTREAM_TIMEOUT_MS: '20000',
      GATEWAY_FAST_PATH: fastPath,
    });
  });
  afterAll(async () => {
    await rig.close();
  });
  beforeEach(() => {
    rig.simulator.faults.clear();
    rig.simulator.clearRequests();
  });

  it('N concurrent identical queries while the upstream is slow: one upstream call, N identical answers', async () => {
    const N = 20;
    const id = rig.simulator.store.addBatch({ status: 'completed', recipients: 4 });
    rig.simulator.faults.add({ kind: 'delay', route: 'detail', batchId: id, delayMs: 1_000 });
    const before = await rig.metrics();
    const answers = await Promise.all(Array.from({ length: N }, () => detail(rig, id)));
    expect(rig.calls('detail', id)).toBe(1);
    for (const answer of answers) {
      expect(answer.errors).toBeUndefined();
      expect(answer).toEqual(answers[0]);
    }
    expect(answers[0]?.data?.batchCall?.batchId).toBe(id);
    const after = await rig.metrics();
    expect(after.get('gateway_cache_coalesced_total') - before.get('gateway_cache_coalesced_total')).toBeGreaterThanOrEqual(N - 1);
    expect(after.get(DETAIL_OK) - before.get(DETAIL_OK)).toBe(1);
  });

  it('a caller that disconnects early (even the one that started the call) does not cancel it for the others', async () => {
    const id = rig.simulator.store.addBatch({ status: 'completed', recipients: 4 });
    rig.simulator.faults.add({ kind: 'delay', route: 'detail', batchId: id, delayMs: 2_500 });
    const before = await rig.metrics();
    const leaving = new AbortController();
    const first = detail(rig, id, leaving.signal).then(() => 'answered', () => 'aborted');
    await expect.poll(() => rig.calls('detail', id), { timeout: 5_000 }).toBe(1);
    const others = Array.from({ length: 4 }, () => detail(rig, id));
    await expect
      .poll(async () => (await rig.metrics()).get('gateway_cache_coalesced_total') - before.get('gateway_cache_coalesced_total'), { timeout: 5_000 })
      .toBe(4);
    leaving.abort();
    expect(await first).toBe('aborted');

    const answers = await Promise.all(others);
    for (const answer of answers) {
      expect(answer.errors).toBeUndefined();
      expect(answer.data?.batchCall?.batchId).toBe(id);
      expect(answer).toEqual(answers[0]);
    }
    expect(rig.calls('detail', id)).toBe(1);
    const after = await rig.metrics();
    expect(after.get(DETAIL_CANCELLED) - before.get(DETAIL_CANCELLED)).toBe(0);
    expect(after.get(DETAIL_OK) - before.get(DETAIL_OK)).toBe(1);
    // And the answer was cached for the next reader.
    await detailOk(rig, id);
    expect(rig.calls('detail', id)).toBe(1);
  });

  it('when every caller has disconnected, the shared upstream call is cancelled (and nothing is cached)', async () => {
    const id = rig.simulator.store.addBatch({ status: 'completed', recipients: 4 });
    rig.simulator.faults.add({ kind: 'hang', route: 'detail', batchId: id });
    const before = await rig.metrics();
    const controllers = Array.from({ length: 3 }, () => new AbortController());
    const first = controllers[0];
    if (first === undefined) throw new Error('unreachable');
    // Each request's outcome, observed from the start (an aborted fetch rejects at once).
    const settle = (signal: AbortSignal): Promise<string> => detail(rig, id, signal).then(() => 'answered', () => 'aborted');
    const requests = [settle(first.signal)];
    await expect.poll(() => rig.calls('detail', id), { timeout: 5_000 }).toBe(1);
    requests.push(...controllers.slice(1).map((c) => settle(c.signal)));
    await expect
      .poll(async () => (await rig.metrics()).get('gateway_cache_coalesced_total') - before.get('gateway_cache_coalesced_total'), { timeout: 5_000 })
      .toBe(2);
    expect(rig.simulator.inFlight).toBe(1);

    // Two leave: the call goes on for the third.
    controllers[0]?.abort();
    controllers[1]?.abort();
    await sleep(300);
    expect(rig.simulator.inFlight).toBe(1);
    // The last one leaves: the upstream request is abandoned at once (the gateway's timeout is 20 s).
    controllers[2]?.abort();
    expect(await Promise.all(requests)).toEqual(['aborted', 'aborted', 'aborted']);
    await expect.poll(() => rig.simulator.inFlight, { timeout: 2_000 }).toBe(0);
    await expect.poll(async () => (await rig.metrics()).get(DETAIL_CANCELLED) - before.get(DETAIL_CANCELLED), { timeout: 2_000 }).toBe(1);

    // Nothing poisoned: the next read makes a fresh call and succeeds.
    rig.simulator.faults.clear();
    expect((await detailOk(rig, id)).batchId).toBe(id);
    expect(rig.calls('detail', id)).toBe(2);
  });

  it('different batches are not coalesced with each other', async () => {
    const a = rig.simulator.store.addBatch({ status: 'completed', recipients: 2 });
    const b = rig.simulator.store.addBatch({ status: 'completed', recipients: 2 });
    rig.simulator.faults.add({ kind: 'delay', route: 'detail', delayMs: 300 });
    const [x, y] = await Promise.all([detailOk(rig, a), detailOk(rig, b)]);
    expect([x.batchId, y.batchId]).toEqual([a, b]);
    expect([rig.calls('detail', a), rig.calls('detail', b)]).toEqual([1, 1]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('with the cache on: a shared call lasts until the latest deadline among its callers', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ OPERATION_TIMEOUT_MS: '1000', UPSTREAM_MAX_RETRIES: '0', UPSTREAM_TIMEOUT_MS: '5000', CACHE_TTL_TERMINAL_MS: '120000' });
  });
  afterAll(async () => {
    await rig.close();
  });

  it('a caller who joins later is answered within its own budget, the first one times out at its own', async () => {
    const id = rig.simulator.store.addBatch({ status: 'completed', recipients: 4 });
    rig.simulator.faults.add({ kind: 'delay', route: 'detail', batchId: id, delayMs: 1_300 });
    const first = detail(rig, id);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const second = detail(rig, id);
    const [a, b] = await Promise.all([first, second]);
    // First: deadline ~1000 ms, upstream answers at ~1300 ms. Second: deadline ~1600 ms.
    expect(a.errors?.[0]?.extensions?.['code']).toBe('UPSTREAM_TIMEOUT');
    expect(b.errors).toBeUndefined();
    expect(b.data?.batchCall?.batchId).toBe(id);
    expect(rig.calls('detail', id)).toBe(1);
  });
});

describe('with the cache on: the size bound (CACHE_MAX_BYTES)', () => {
  let rig: Rig;
  let ids: string[];
  let bodyBytes: number;
  let maxBytes: number;
  let big: string;

  beforeAll(async () => {
    const simulator = await startSim();
    const store = simulator.store;
    // Six small completed batches whose detail bodies are all exactly the same size (padded names).
    ids = Array.from({ length: 6 }, () => store.addBatch({ status: 'completed', recipients: 3, name: 'x' }));
    const size = (id: string): number => store.detailBody(id)?.length ?? 0;
    const target = Math.max(...ids.map(size)) + 10;
    for (const id of ids) store.patchBatch(id, { name: 'x'.repeat(1 + target - size(id)) });
    bodyBytes = target;
    expect(ids.map(size)).toEqual(ids.map(() => bodyBytes));
    // Room for three bodies and a half: the fourth evicts.
    maxBytes = 3 * bodyBytes + Math.floor(bodyBytes / 2);
    big = store.addBatch({ status: 'completed', recipients: 60 });
    expect(size(big)).toBeGreaterThan(maxBytes);
    rig = await startRig({ CACHE_MAX_BYTES: String(maxBytes), CACHE_TTL_TERMINAL_MS: '120000' }, simulator);
  });
  afterAll(async () => {
    await rig.close();
  });

  const id = (index: number): string => {
    const value = ids[index];
    if (value === undefined) throw new Error(`no batch ${index}`);
    return value;
  };
  const read = async (index: number): Promise<void> => {
    expect((await detailOk(rig, id(index))).batchId).toBe(id(index));
  };
  const callsFor = (index: number): number => rig.calls('detail', id(index));

  it('evicts the least recently used entry; a recently used one survives; the bytes stay within the bound', async () => {
    const before = await rig.metrics();
    await read(0);
    await read(1);
    await read(2);
    let metrics = await rig.metrics();
    expect(metrics.get('gateway_cache_entries')).toBe(3);
    expect(metrics.get('gateway_cache_bytes')).toBe(3 * bodyBytes);
    expect(metrics.get('gateway_cache_evictions_total')).toBe(before.get('gateway_cache_evictions_total'));

    // 0 becomes the most recently used; 1 is now the least.
    await read(0);
    expect(callsFor(0)).toBe(1);
    await read(3);
    metrics = await rig.metrics();
    expect(metrics.get('gateway_cache_evictions_total') - before.get('gateway_cache_evictions_total')).toBe(1);
    expect(metrics.get('gateway_cache_entries')).toBe(3);
    expect(metrics.get('gateway_cache_bytes')).toBeLessThanOrEqual(maxBytes);

    // 0 (recently used) and 2 survived, 1 (least recently used) did not.
    await read(0);
    await read(2);
    expect([callsFor(0), callsFor(2), callsFor(3)]).toEqual([1, 1, 1]);
    await read(1);
    expect(callsFor(1)).toBe(2);
    // Reading 1 back evicted the least recently used again: 3 (read before 0 and 2 were touched).
    await read(3);
    expect(callsFor(3)).toBe(2);

    // Many more batches than fit, in a loop: the bound holds after every read.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < ids.length; i++) {
        await read(i);
        expect((await rig.metrics()).get('gateway_cache_bytes')).toBeLessThanOrEqual(maxBytes);
      }
    }
    metrics = await rig.metrics();
    expect(metrics.get('gateway_cache_entries')).toBeLessThanOrEqual(3);
    expect(metrics.get('gateway_cache_evictions_total') - before.get('gateway_cache_evictions_total')).toBeGreaterThanOrEqual(12);
  });

  it('does not keep an entry bigger than the whole cache, and does not evict the others for it', async () => {
    // Three small ones cached: 3, 4, 5 (the loop above ended on them).
    const cachedBefore = [callsFor(3), callsFor(4), callsFor(5)];
    const before = await rig.metrics();
    expect(before.get('gateway_cache_entries')).toBe(3);

    const first = await detailOk(rig, big);
    expect(first.recipients.totalCount).toBe(60);
    await detailOk(rig, big);
    expect(rig.calls('detail', big)).toBe(2);

    const after = await rig.metrics();
    expect(after.get('gateway_cache_entries')).toBe(3);
    expect(after.get('gateway_cache_bytes')).toBe(before.get('gateway_cache_bytes'));
    expect(after.get('gateway_cache_evictions_total')).toBe(before.get('gateway_cache_evictions_total'));
    await read(3);
    await read(4);
    await read(5);
    expect([callsFor(3), callsFor(4), callsFor(5)]).toEqual(cachedBefore);
  });
});

// ---------------------------------------------------------------------------------------------

describe('with the cache off (CACHE_ENABLED=false)', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ CACHE_ENABLED: 'false' });
  });
  afterAll(async () => {
    await rig.close();
  });

  it('every read goes upstream, concurrent identical ones included; the cache metrics stay at zero', async () => {
    const id = rig.simulator.store.addBatch({ status: 'completed', recipients: 2 });
    await detailOk(rig, id);
    await detailOk(rig, id);
    await detailOk(rig, id);
    expect(rig.calls('detail', id)).toBe(3);
    await listNames(rig, 4);
    await listNames(rig, 4);
    expect(rig.calls('list')).toBe(2);

    rig.simulator.faults.add({ kind: 'delay', route: 'detail', batchId: id, delayMs: 300 });
    await Promise.all(Array.from({ length: 5 }, () => detailOk(rig, id)));
    expect(rig.calls('detail', id)).toBe(8);

    const metrics = await rig.metrics();
    for (const name of ['gateway_cache_hits_total', 'gateway_cache_misses_total', 'gateway_cache_coalesced_total',
      'gateway_cache_entries', 'gateway_cache_bytes']) {
      expect(metrics.get(name), name).toBe(0);
    }
    expect(metrics.get(DETAIL_OK)).toBe(8);
  });
});

// ---------------------------------------------------------------------------------------------

describe('no answer is served across upstream keys', () => {
  /**
   * One gateway process holds one key and one UpstreamClient, which builds its own ResponseCache:
   * over HTTP there is no way to make two keys meet one cache. So this is shown on the client:
   * (1) the cache key it uses carries the key's fingerprint (and never the key); (2) with two
   * clients forced to share one cache, a second key still goes upstream and gets its own answer.
   */
  const KEY_A = 'sk_cache_test_key_a_0123456789abcdef';
  const KEY_B = 'sk_cache_test_key_b_fedcba9876543210';
  let simulator: Simulator;
  const clients: UpstreamClient[] = [];

  beforeAll(async () => {
    // Only key A is valid upstream.
    simulator = await startSimulator({ apiKey: KEY_A, clock: new ManualClock(Date.now()) });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await simulator.close();
  });

  const client = (key: string): UpstreamClient => {
    const created = new UpstreamClient({
      baseUrl: simulator.url,
      apiKey: new Secret(key),
      connectTimeoutMs: 1_000,
      timeoutMs: 5_000,
      bodyTimeoutMs: 5_000,
      maxConcurrency: 2,
      maxQueue: 10,
      maxRetries: 0,
      circuit: { failureThreshold: 100, openMs: 1_000, maxOpenMs: 1_000 },
      cache: { maxBytes: 1 << 20, ttls: { terminalMs: 60_000, activeMs: 60_000, listMs: 60_000 } },
      logger: createLogger({ level: 'silent' }),
    });
    clients.push(created);
    return created;
  };

  it('keys cache entries by the fingerprint of the upstream key, never by the key itself', async () => {
    const get = vi.spyOn(ResponseCache.prototype, 'get');
    const a = client(KEY_A);
    const b = client(KEY_B);
    const id = simulator.store.addBatch({ status: 'completed', recipients: 1 });
    await a.getBatch(id);
    await expect(b.getBatch(id)).rejects.toMatchObject({ code: 'UPSTREAM_UNAUTHORIZED' });
    const keys = get.mock.calls.map(([key]) => key);
    expect(keys).toHaveLength(2);
    const [keyA, keyB] = keys;
    expect(keyA).toBe(`${new Secret(KEY_A).fingerprint()}:/v1/convai/batch-calling/${id}`);
    expect(keyB).toBe(`${new Secret(KEY_B).fingerprint()}:/v1/convai/batch-calling/${id}`);
    expect(keyA).not.toBe(keyB);
    for (const key of keys) {
      expect(key).not.toContain(KEY_A);
      expect(key).not.toContain(KEY_B);
    }
    expect(a.keyFingerprint).not.toBe(b.keyFingerprint);
  });

  it('two clients sharing one cache: key B is not served what key A cached (it goes upstream and is refused)', async () => {
    const shared = new ResponseCache(1 << 20);
    const realGet = ResponseCache.prototype.get;
    const realSet = ResponseCache.prototype.set;
    vi.spyOn(ResponseCache.prototype, 'get').mockImplementation((key: string) => realGet.call(shared, key) as never);
    vi.spyOn(ResponseCache.prototype, 'set').mockImplementation((key: string, value: unknown, bytes: number, ttlMs: number) =>
      realSet.call(shared, key, value, bytes, ttlMs));
    const a = client(KEY_A);
    const a2 = client(KEY_A);
    const b = client(KEY_B);
    const id = simulator.store.addBatch({ status: 'completed', recipients: 2 });
    simulator.clearRequests();

    const answer = await a.getBatch(id);
    expect(answer.batch.id).toBe(id);
    expect(shared.stats().entries).toBe(1);
    // The sharing works: another client with the same key is served from the shared cache.
    expect(await a2.getBatch(id)).toBe(answer);
    expect(simulator.requests).toHaveLength(1);

    // Another key: asked upstream with its own key, refused there; A's answer is not handed out.
    const refused = await b.getBatch(id).then(() => undefined, (error: unknown) => error);
    expect(refused).toBeInstanceOf(UpstreamError);
    expect((refused as UpstreamError).code).toBe('UPSTREAM_UNAUTHORIZED');
    expect(simulator.requests).toHaveLength(2);
    expect(simulator.requests[1]?.headers['xi-api-key']).toBe(KEY_B);
    expect(shared.stats().entries).toBe(1);
  });
});
