/**
 * Fault injection over real HTTP: for each way the upstream can fail, the code the client sees,
 * how many attempts reached the upstream, and how long the answer took, against bounds derived
 * from the configuration. Mapping details (messages, 401/403/422...) live in gateway-errors.test.ts;
 * this suite is about bounds: attempts, time, deadline, circuit breaker, wait queue.
 *
 * Timing bounds: the lower bound is the design's (sum of the minimum waits); the upper bound is the
 * design's maximum plus SLACK_MS for a shared, noisy machine. CLOCK_TOLERANCE_MS only absorbs
 * millisecond truncation (Date.now, libuv's timer base): a setTimeout of n ms may be observed as
 * n - 1 ms by performance.now(). It is far smaller than any wait the lower bounds check for.
 */
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FaultSpec } from '../src/simulator/faults.js';
import { DEFAULT_BACKOFF } from '../src/upstream/retry.js';
import { codes, startStack, type GraphQLResponse, type Stack } from './helpers/stack.js';

const SLACK_MS = 700;
const CLOCK_TOLERANCE_MS = 2;

const LIST = `{ batchCalls(first: 3) { edges { node { batchId } } } }`;
const PAGE_WITH_RECIPIENTS = (first: number): string =>
  `{ batchCalls(first: ${first}) { edges { node { batchId recipients(first: 1) { totalCount } } } } }`;

interface PageData {
  batchCalls: { edges: Array<{ node: { batchId: string; recipients: { totalCount: number } | null } }> };
}
type GqlError = NonNullable<GraphQLResponse['body']['errors']>[number];

/** The least and the most total backoff of `retries` retries (equal jitter: each step waits step/2 to step). */
function backoffBounds(retries: number): { min: number; max: number } {
  let min = 0;
  let max = 0;
  for (let attempt = 0; attempt < retries; attempt += 1) {
    const step = Math.min(DEFAULT_BACKOFF.maxDelayMs, DEFAULT_BACKOFF.baseDelayMs * 2 ** attempt);
    min += step / 2;
    max += step;
  }
  return { min, max };
}

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await run();
  return { result, ms: performance.now() - started };
}

function expectDuration(ms: number, designMin: number, designMax: number): void {
  expect(ms).toBeGreaterThanOrEqual(designMin - CLOCK_TOLERANCE_MS);
  expect(ms).toBeLessThan(designMax + SLACK_MS);
}

function onlyError(response: GraphQLResponse<unknown>): GqlError {
  expect(response.body.errors).toHaveLength(1);
  const error = response.body.errors?.[0];
  if (error === undefined) throw new Error('no error');
  return error;
}

/** A loopback port nothing listens on: bound, then released. */
/**
 * A loopback port nothing listens on. Below 1024, outside the ephemeral range every test server
 * binds in, so no server started meanwhile (this file's or another worker's) can take it; checked
 * with a connection attempt, which must be refused.
 */
async function closedPort(): Promise<number> {
  for (const port of [1, 9, 13, 17, 19]) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
    });
    if (refused) return port;
  }
  throw new Error('no closed low port on 127.0.0.1');
}

async function ready(stack: Stack): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${stack.gateway.url}/ready`);
  return { status: response.status, body: (await response.json()) as unknown };
}

function resetStacks(stacks: Iterable<Stack>): void {
  for (const stack of stacks) {
    stack.simulator.faults.clear();
    stack.resetCalls();
  }
}

// ---------------------------------------------------------------------------------------------
// Every fault kind: code, attempts, time
// ---------------------------------------------------------------------------------------------

const MAX_RETRIES = 2;
const ATTEMPT_TIMEOUT_MS = 400;
/**
 * Retries and attempt timeout under test. The breaker is kept out of the way (tested below), and
 * the operation deadline is set far off so that no outcome here is the deadline's doing (tested below).
 */
const BASE_ENV = {
  UPSTREAM_MAX_RETRIES: String(MAX_RETRIES),
  UPSTREAM_TIMEOUT_MS: String(ATTEMPT_TIMEOUT_MS),
  CIRCUIT_FAILURE_THRESHOLD: '1000',
  OPERATION_TIMEOUT_MS: '120000',
};

type StackName = 'main' | 'oneRetry' | 'down';

interface FaultCase {
  name: string;
  stack: StackName;
  faults: FaultSpec[];
  code: string;
  /** Requests the simulator receives; null when there is no upstream to count (upstream down). */
  attempts: number | null;
  /** extensions.retryAfter, or undefined when the error must not carry one. */
  retryAfter: number | undefined;
  /** Design bounds of the answer time, in ms (the upper one before SLACK_MS). */
  minMs: number;
  maxMs: number;
}

const retried = backoffBounds(MAX_RETRIES); // 50..100 + 100..200 = 150..300 ms

const FAULT_CASES: FaultCase[] = [
  {
    name: '500: retried with backoff, then UPSTREAM_UNAVAILABLE',
    stack: 'main', faults: [{ kind: 'status', status: 500 }],
    code: 'UPSTREAM_UNAVAILABLE', attempts: 1 + MAX_RETRIES, retryAfter: undefined, minMs: retried.min, maxMs: retried.max,
  },
  {
    name: '503: retried with backoff, then UPSTREAM_UNAVAILABLE',
    stack: 'main', faults: [{ kind: 'status', status: 503 }],
    code: 'UPSTREAM_UNAVAILABLE', attempts: 1 + MAX_RETRIES, retryAfter: undefined, minMs: retried.min, maxMs: retried.max,
  },
  {
    name: '429 without Retry-After: retried with backoff, then UPSTREAM_RATE_LIMITED without retryAfter',
    stack: 'main', faults: [{ kind: 'status', status: 429 }],
    code: 'UPSTREAM_RATE_LIMITED', attempts: 1 + MAX_RETRIES, retryAfter: undefined, minMs: retried.min, maxMs: retried.max,
  },
  {
    // UPSTREAM_MAX_RETRIES=1: one wait of exactly Retry-After (1 s ≤ the 2 s cap), no jitter.
    name: '429 with Retry-After 1: waits the 1 s asked for, retries once, then UPSTREAM_RATE_LIMITED',
    stack: 'oneRetry', faults: [{ kind: 'status', status: 429, retryAfter: '1' }],
    code: 'UPSTREAM_RATE_LIMITED', attempts: 2, retryAfter: 1, minMs: 1_000, maxMs: 1_000,
  },
  {
    // 30 s is beyond the 2 s cap on any wait: answer at once and pass the hint on.
    name: '429 with Retry-After 30: no retry, UPSTREAM_RATE_LIMITED at once with retryAfter 30',
    stack: 'main', faults: [{ kind: 'status', status: 429, retryAfter: '30' }],
    code: 'UPSTREAM_RATE_LIMITED', attempts: 1, retryAfter: 30, minMs: 0, maxMs: 0,
  },
  {
    // Just over the cap: the cap alone, not the size of the wait, decides.
    name: `429 with Retry-After 3 (over the ${DEFAULT_BACKOFF.maxDelayMs} ms cap): no retry, UPSTREAM_RATE_LIMITED at once`,
    stack: 'main', faults: [{ kind: 'status', status: 429, retryAfter: '3' }],
    code: 'UPSTREAM_RATE_LIMITED', attempts: 1, retryAfter: 3, minMs: 0, maxMs: 0,
  },
  {
    // A timed-out attempt is not retried: the caller has already waited the whole timeout.
    name: 'slower than UPSTREAM_TIMEOUT_MS: UPSTREAM_TIMEOUT after one attempt, at the timeout',
    stack: 'main', faults: [{ kind: 'delay', delayMs: 5 * ATTEMPT_TIMEOUT_MS }],
    code: 'UPSTREAM_TIMEOUT', attempts: 1, retryAfter: undefined, minMs: ATTEMPT_TIMEOUT_MS, maxMs: ATTEMPT_TIMEOUT_MS,
  },
  {
    name: 'connection reset: retried with backoff, then UPSTREAM_UNAVAILABLE',
    stack: 'main', faults: [{ kind: 'reset' }],
    code: 'UPSTREAM_UNAVAILABLE', attempts: 1 + MAX_RETRIES, retryAfter: undefined, minMs: retried.min, maxMs: retried.max,
  },
  {
    // A 200 whose body is cut: the same request would get the same answer; not retried.
    name: 'truncated JSON: no retry, UPSTREAM_UNAVAILABLE at once',
    stack: 'main', faults: [{ kind: 'truncated_json' }],
    code: 'UPSTREAM_UNAVAILABLE', attempts: 1, retryAfter: undefined, minMs: 0, maxMs: 0,
  },
  {
    name: 'malformed JSON: no retry, UPSTREAM_UNAVAILABLE at once',
    stack: 'main', faults: [{ kind: 'malformed_json' }],
    code: 'UPSTREAM_UNAVAILABLE', attempts: 1, retryAfter: undefined, minMs: 0, maxMs: 0,
  },
  {
    // Connection refused: retried like any connection error, so it takes the backoff.
    name: 'upstream down (nothing listening): retried with backoff, then UPSTREAM_UNAVAILABLE',
    stack: 'down', faults: [],
    code: 'UPSTREAM_UNAVAILABLE', attempts: null, retryAfter: undefined, minMs: retried.min, maxMs: retried.max,
  },
];

describe('each upstream fault: client code, upstream attempts, time to answer', () => {
  const stacks = new Map<StackName, Stack>();
  const stackOf = (name: StackName): Stack => {
    const stack = stacks.get(name);
    if (stack === undefined) throw new Error(`stack ${name} not started`);
    return stack;
  };

  beforeAll(async () => {
    const port = await closedPort();
    const [main, oneRetry, down] = await Promise.all([
      startStack({ env: BASE_ENV }),
      startStack({ env: { ...BASE_ENV, UPSTREAM_MAX_RETRIES: '1' } }),
      startStack({ env: { ...BASE_ENV, ELEVENLABS_BASE_URL: `http://127.0.0.1:${port}` } }),
    ]);
    stacks.set('main', main).set('oneRetry', oneRetry).set('down', down);
  });
  afterAll(async () => {
    await Promise.all([...stacks.values()].map((stack) => stack.close()));
  });
  beforeEach(() => resetStacks(stacks.values()));

  it.each(FAULT_CASES)('$name', async ({ stack: name, faults, code, attempts, retryAfter, minMs, maxMs }) => {
    const stack = stackOf(name);
    for (const fault of faults) stack.simulator.faults.add({ ...fault, route: 'list' });

    const { result: response, ms } = await timed(() => stack.gql(LIST));

    const error = onlyError(response);
    expect(error.extensions?.['code']).toBe(code);
    expect(error.path).toEqual(['batchCalls']);
    expect(error.extensions?.['retryAfter']).toBe(retryAfter);
    expect(error.extensions?.['reason']).toBeUndefined(); // the breaker had no part in it
    if (attempts === null) {
      // Nothing to count at an upstream that is not there; the stack's own simulator must see nothing.
      expect(stack.calls()).toHaveLength(0);
    } else {
      expect(stack.calls('list')).toHaveLength(attempts);
      expect(stack.calls()).toHaveLength(attempts);
    }
    expectDuration(ms, minMs, maxMs);
  });

  describe('partial results: a fault on one batch nulls only that edge', () => {
    const cases: Array<{ name: string; fault: FaultSpec; code: string; attempts: number }> = [
      { name: 'connection reset', fault: { kind: 'reset' }, code: 'UPSTREAM_UNAVAILABLE', attempts: 1 + MAX_RETRIES },
      { name: 'truncated JSON', fault: { kind: 'truncated_json' }, code: 'UPSTREAM_UNAVAILABLE', attempts: 1 },
      { name: 'slow beyond the attempt timeout', fault: { kind: 'delay', delayMs: 5 * ATTEMPT_TIMEOUT_MS }, code: 'UPSTREAM_TIMEOUT', attempts: 1 },
      { name: '429 with a long Retry-After', fault: { kind: 'status', status: 429, retryAfter: '30' }, code: 'UPSTREAM_RATE_LIMITED', attempts: 1 },
    ];

    it.each(cases)('$name', async ({ fault, code, attempts }) => {
      const stack = stackOf('main');
      const ids = stack.simulator.store.batchIds().slice(0, 4);
      const broken = ids[1] ?? '';
      stack.simulator.faults.add({ ...fault, route: 'detail', batchId: broken });

      const response = await stack.gql<PageData>(PAGE_WITH_RECIPIENTS(4));

      const edges = response.body.data?.batchCalls.edges ?? [];
      expect(edges.map((e) => e.node.batchId)).toEqual(ids);
      expect(edges.map((e) => e.node.recipients === null)).toEqual([false, true, false, false]);
      for (const edge of edges) {
        if (edge.node.recipients !== null) expect(edge.node.recipients.totalCount).toBeGreaterThan(0);
      }
      const error = onlyError(response);
      expect(error.path).toEqual(['batchCalls', 'edges', 1, 'node', 'recipients']);
      expect(error.extensions?.['code']).toBe(code);
      const detailCalls = stack.calls('detail');
      expect(detailCalls.filter((c) => c.batchId === broken)).toHaveLength(attempts);
      for (const id of ids.filter((i) => i !== broken)) {
        expect(detailCalls.filter((c) => c.batchId === id)).toHaveLength(1);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Operation deadline
// ---------------------------------------------------------------------------------------------

describe('the operation deadline bounds the whole operation, retries included', () => {
  const DEADLINE_MS = 800;
  const DEADLINE_RETRIES = 5;
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      env: {
        OPERATION_TIMEOUT_MS: String(DEADLINE_MS),
        // Far beyond the deadline: whatever cuts an attempt short here is the deadline.
        UPSTREAM_TIMEOUT_MS: '5000',
        UPSTREAM_MAX_RETRIES: String(DEADLINE_RETRIES),
        CIRCUIT_FAILURE_THRESHOLD: '1000',
      },
    });
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => resetStacks([stack]));

  it('a slow upstream: UPSTREAM_TIMEOUT at the deadline, not at the attempt timeout', async () => {
    stack.simulator.faults.add({ kind: 'delay', delayMs: 3_000, route: 'list' });
    const { result: response, ms } = await timed(() => stack.gql(LIST));
    expect(codes(response)).toEqual(['UPSTREAM_TIMEOUT']);
    expect(stack.calls('list')).toHaveLength(1);
    expectDuration(ms, DEADLINE_MS, DEADLINE_MS);
  });

  it('a slow, failing upstream: the gateway stops retrying when the next try cannot finish in time', async () => {
    // Each attempt takes D then fails with 503. Backoff before retry n waits 50·2^n to 100·2^n ms.
    // With a deadline T = 2D + 140:
    //  - after attempt 1 (at D + ε): D + 100 < T, so it retries; attempt 2 starts by D + 100 and
    //    has T − D − 100 = D + 40 ms left, enough to get its 503 (40 ms margin for overheads);
    //  - after attempt 2 (at ≥ 2D + 50): the next wait is ≥ 100 ms, reaching ≥ 2D + 150 ≥ T, so it
    //    gives up at once with the 503's code, before the deadline, instead of sleeping into it.
    // Without the deadline it would make 1 + DEADLINE_RETRIES = 6 attempts.
    const attemptMs = (DEADLINE_MS - 140) / 2; // 330
    stack.simulator.faults.add({ kind: 'delay', delayMs: attemptMs, route: 'list' });
    stack.simulator.faults.add({ kind: 'status', status: 503, route: 'list' });

    const { result: response, ms } = await timed(() => stack.gql(LIST));

    expect(codes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(stack.calls('list')).toHaveLength(2);
    expect(stack.calls('list').length).toBeLessThan(1 + DEADLINE_RETRIES);
    // Two attempts and the first backoff at least; given up by 2D + 100 < T at most.
    expectDuration(ms, 2 * attemptMs + backoffBounds(1).min, 2 * attemptMs + backoffBounds(1).max);
  });

  it('429 with a Retry-After beyond the time left: UPSTREAM_RATE_LIMITED at once, one attempt', async () => {
    stack.simulator.faults.add({ kind: 'status', status: 429, retryAfter: '1', route: 'list' });
    const { result: response, ms } = await timed(() => stack.gql(LIST));
    const error = onlyError(response);
    expect(error.extensions?.['code']).toBe('UPSTREAM_RATE_LIMITED');
    expect(error.extensions?.['retryAfter']).toBe(1);
    expect(stack.calls('list')).toHaveLength(1);
    // At once: neither after the 1 s asked for nor at the deadline (both ≥ DEADLINE_MS away).
    expect(ms).toBeLessThan(DEADLINE_MS);
  });
});

// ---------------------------------------------------------------------------------------------
// Circuit breaker
// ---------------------------------------------------------------------------------------------

describe('circuit breaker over real HTTP', () => {
  const THRESHOLD = 3;
  const OPEN_MS = 400;
  /** Fail-fast answers make no upstream call: design ~0 ms, bounded at 100 ms + slack. */
  const FAIL_FAST_MS = 100;
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      env: {
        CIRCUIT_FAILURE_THRESHOLD: String(THRESHOLD),
        CIRCUIT_OPEN_MS: String(OPEN_MS),
        UPSTREAM_MAX_RETRIES: '0',
      },
    });
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => resetStacks([stack]));

  const sleepUntil = async (at: number): Promise<void> => {
    const wait = at - performance.now();
    if (wait > 0) await sleep(wait);
  };

  /** THRESHOLD failing operations, each one upstream call; returns when the last answer arrived. */
  const openCircuit = async (): Promise<number> => {
    stack.simulator.faults.add({ kind: 'status', status: 500 });
    for (let i = 0; i < THRESHOLD; i += 1) {
      const error = onlyError(await stack.gql(LIST));
      expect(error.extensions?.['code']).toBe('UPSTREAM_UNAVAILABLE');
      expect(error.extensions?.['reason']).toBeUndefined();
    }
    expect(stack.calls()).toHaveLength(THRESHOLD);
    // The circuit opened before the last answer was sent, so it has been open at least this long.
    return performance.now();
  };

  const expectFailFast = async (): Promise<void> => {
    const before = stack.calls().length;
    const { result: response, ms } = await timed(() => stack.gql(LIST));
    const error = onlyError(response);
    expect(error.extensions?.['code']).toBe('UPSTREAM_UNAVAILABLE');
    expect(error.extensions?.['reason']).toBe('CIRCUIT_OPEN');
    expect(error.extensions?.['retryAfter']).toBe(1); // whole seconds, at least 1
    expect(stack.calls()).toHaveLength(before);
    expect(ms).toBeLessThan(FAIL_FAST_MS + SLACK_MS);
  };

  it('404 and other 4xx answers do not open it: every call still reaches the upstream', async () => {
    for (let i = 0; i < 2 * THRESHOLD; i += 1) {
      const response = await stack.gql(`query($id: ID!) { batchCall(id: $id) { name } }`, { id: `btcal_missing_${i}` });
      expect(codes(response)).toEqual(['NOT_FOUND']);
    }
    expect(stack.calls('detail')).toHaveLength(2 * THRESHOLD);
    // 422, 409 and 401 say nothing about the upstream's health either.
    stack.simulator.faults.add({ kind: 'status', status: 422, times: THRESHOLD });
    for (let i = 0; i < THRESHOLD; i += 1) expect(codes(await stack.gql(LIST))).toEqual(['BAD_USER_INPUT']);
    stack.simulator.faults.add({ kind: 'status', status: 409, times: THRESHOLD });
    for (let i = 0; i < THRESHOLD; i += 1) expect(codes(await stack.gql(LIST))).toEqual(['UPSTREAM_UNAVAILABLE']);
    stack.simulator.faults.add({ kind: 'status', status: 401, times: THRESHOLD });
    for (let i = 0; i < THRESHOLD; i += 1) expect(codes(await stack.gql(LIST))).toEqual(['UPSTREAM_UNAUTHORIZED']);
    expect(stack.calls('list')).toHaveLength(3 * THRESHOLD);

    const response = await stack.gql<PageData>(LIST);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.batchCalls.edges).toHaveLength(3);
    expect(stack.calls('list')).toHaveLength(3 * THRESHOLD + 1);
  });

  it('a 404 between 5xx failures counts as health: the consecutive count starts over', async () => {
    stack.simulator.faults.add({ kind: 'status', status: 500, route: 'list' });
    for (let i = 0; i < THRESHOLD - 1; i += 1) expect(codes(await stack.gql(LIST))).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(codes(await stack.gql(`{ batchCall(id: "btcal_missing") { name } }`))).toEqual(['NOT_FOUND']);
    for (let i = 0; i < THRESHOLD - 1; i += 1) expect(codes(await stack.gql(LIST))).toEqual(['UPSTREAM_UNAVAILABLE']);
    stack.simulator.faults.clear();
    // 2 × (THRESHOLD − 1) failures in all, but never THRESHOLD in a row: still closed.
    const response = await stack.gql(LIST);
    expect(response.body.errors).toBeUndefined();
    expect(stack.calls()).toHaveLength(2 * (THRESHOLD - 1) + 2);
  });

  it('opens after THRESHOLD failures, fails fast with no upstream call, and one probe closes it', async () => {
    const openedAt = await openCircuit();

    await expectFailFast();
    await expectFailFast();
    const notReady = await ready(stack);
    expect(notReady).toEqual({ status: 503, body: { status: 'not ready', reason: 'CIRCUIT_OPEN' } });
    expect(stack.calls()).toHaveLength(THRESHOLD);

    // The upstream recovers; once the open period is over, the next call probes. The probe is made
    // slow so that two more operations arrive while it is in flight: they must not go upstream.
    stack.simulator.faults.clear();
    await sleepUntil(openedAt + OPEN_MS + 100);
    stack.resetCalls();
    stack.simulator.faults.add({ kind: 'delay', delayMs: 300, route: 'list', times: 1 });
    const probe = stack.gql<PageData>(LIST);
    await expect.poll(() => stack.calls('list').length, { interval: 5 }).toBe(1);
    const during = await Promise.all([stack.gql(LIST), stack.gql(LIST)]);
    for (const response of during) {
      const error = onlyError(response);
      expect(error.extensions?.['reason']).toBe('CIRCUIT_OPEN');
      expect(error.extensions?.['code']).toBe('UPSTREAM_UNAVAILABLE');
    }
    // Readiness during the probe: not ready, and that verdict is not remembered past the probe.
    expect(await ready(stack)).toEqual({ status: 503, body: { status: 'not ready', reason: 'CIRCUIT_OPEN' } });
    const probed = await probe;
    expect(probed.body.errors).toBeUndefined();
    expect(probed.body.data?.batchCalls.edges).toHaveLength(3);
    expect(stack.calls()).toHaveLength(1);

    // Closed: calls flow again and readiness recovers.
    const after = await stack.gql<PageData>(LIST);
    expect(after.body.errors).toBeUndefined();
    expect(stack.calls('list')).toHaveLength(2);
    const isReady = await ready(stack);
    expect(isReady).toEqual({ status: 200, body: { status: 'ready' } });
  });

  it('a failed probe reopens it for twice as long', async () => {
    const openedAt = await openCircuit();
    await sleepUntil(openedAt + OPEN_MS + 100);
    stack.resetCalls();

    // The probe goes upstream and fails: open again, now for 2 × OPEN_MS.
    const failedProbe = onlyError(await stack.gql(LIST));
    expect(failedProbe.extensions?.['code']).toBe('UPSTREAM_UNAVAILABLE');
    expect(failedProbe.extensions?.['reason']).toBeUndefined();
    expect(stack.calls()).toHaveLength(1);
    const reopenedAt = performance.now();

    // At 1.5 × OPEN_MS a first-length period would be over; the doubled one is not.
    await sleepUntil(reopenedAt + 1.5 * OPEN_MS);
    await expectFailFast();
    expect(stack.calls()).toHaveLength(1);

    // Past 2 × OPEN_MS the next call probes; the upstream has recovered, so it closes.
    stack.simulator.faults.clear();
    await sleepUntil(reopenedAt + 2 * OPEN_MS + 100);
    const recovered = await stack.gql(LIST);
    expect(recovered.body.errors).toBeUndefined();
    expect(stack.calls()).toHaveLength(2);
  });
});

// ---------------------------------------------------------------------------------------------
// Bounded wait queue
// ---------------------------------------------------------------------------------------------

describe('bounded upstream wait queue', () => {
  const DETAIL_DELAY_MS = 300;
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ env: { UPSTREAM_MAX_CONCURRENCY: '1', UPSTREAM_MAX_QUEUE: '2' } });
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => resetStacks([stack]));

  it('beyond 1 in flight + 2 waiting, detail calls fail at once with UPSTREAM_OVERLOADED; siblings keep their data', async () => {
    stack.simulator.faults.add({ kind: 'delay', delayMs: DETAIL_DELAY_MS, route: 'detail' });

    const { result: response, ms } = await timed(() => stack.gql<PageData>(PAGE_WITH_RECIPIENTS(6)));

    const edges = response.body.data?.batchCalls.edges ?? [];
    expect(edges).toHaveLength(6);
    const served = edges.filter((e) => e.node.recipients !== null);
    const refused = edges.flatMap((e, index) => (e.node.recipients === null ? [index] : []));
    expect(served).toHaveLength(3);
    expect(refused).toHaveLength(3);
    for (const edge of served) expect(edge.node.recipients?.totalCount).toBeGreaterThan(0);

    const errors = response.body.errors ?? [];
    expect(errors).toHaveLength(3);
    expect(errors.map((e) => e.path).sort()).toEqual(refused.map((i) => ['batchCalls', 'edges', i, 'node', 'recipients']).sort());
    for (const error of errors) {
      expect(error.extensions?.['code']).toBe('UPSTREAM_OVERLOADED');
      expect(error.extensions?.['retryAfter']).toBe(1);
    }

    // Only the admitted calls reached the upstream, one at a time.
    expect(stack.calls('list')).toHaveLength(1);
    const detailIds = stack.calls('detail').map((c) => c.batchId);
    expect(detailIds).toHaveLength(3);
    expect(new Set(detailIds)).toEqual(new Set(served.map((e) => e.node.batchId)));
    expect(stack.simulator.peakInFlight).toBe(1);
    // Three slow calls in series; the refused ones waited for nothing (queued, they would add
    // another 3 × 300 ms and land beyond the upper bound).
    expectDuration(ms, 3 * DETAIL_DELAY_MS, 3 * DETAIL_DELAY_MS);
  });
});
