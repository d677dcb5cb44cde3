import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/simulator/clock.js';
import { codes, startStack, TEST_API_KEY, type Stack } from './helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  // The breaker is exercised in resilience tests; here every failure must reach the upstream.
  stack = await startStack({
    env: { UPSTREAM_MAX_RETRIES: '2', UPSTREAM_TIMEOUT_MS: '400', CIRCUIT_FAILURE_THRESHOLD: '1000' },
    clock: new ManualClock(Date.now()),
  });
});
afterAll(async () => {
  await stack.close();
});
beforeEach(() => {
  stack.simulator.faults.clear();
  stack.resetCalls();
});

const ONE = `query($id: ID!) { batchCall(id: $id) { batchId name } }`;
const LIST = `{ batchCalls(first: 3) { edges { node { batchId } } } }`;
const firstBatch = (): string => stack.simulator.store.batchIds()[0] ?? '';

describe('upstream failures map to the codes of the error table', () => {
  it('404 → NOT_FOUND with batchCall null', async () => {
    const response = await stack.gql<{ batchCall: null }>(ONE, { id: 'btcal_doesnotexist' });
    expect(response.body.data).toEqual({ batchCall: null });
    expect(codes(response)).toEqual(['NOT_FOUND']);
    expect(stack.calls('detail')).toHaveLength(1); // not retried
  });

  it('422 caused by client input → BAD_USER_INPUT saying what is wrong', async () => {
    stack.simulator.faults.add({
      kind: 'status', status: 422, route: 'list', times: 1,
      body: { detail: [{ loc: ['query', 'agent_id'], msg: 'Agent does not exist', type: 'value_error' }] },
    });
    const response = await stack.gql(`{ batchCalls(first: 2, agentId: "agent_unknown") { edges { cursor } } }`);
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.body.errors?.[0]?.message).toMatch(/agent_id/);
    expect(stack.calls('list')).toHaveLength(1);
  });

  it.each([401, 403])('%i → UPSTREAM_UNAUTHORIZED, not retried, naming the gateway configuration', async (status) => {
    stack.simulator.faults.add({ kind: 'status', status, times: 1 });
    const response = await stack.gql(ONE, { id: firstBatch() });
    expect(codes(response)).toEqual(['UPSTREAM_UNAUTHORIZED']);
    expect(response.body.errors?.[0]?.message).toMatch(/gateway/i);
    expect(response.text).not.toContain(TEST_API_KEY);
    expect(stack.calls()).toHaveLength(1);
  });

  it('a wrong key at the upstream → UPSTREAM_UNAUTHORIZED', async () => {
    const wrong = await startStack({ env: { ELEVENLABS_API_KEY: 'sk_wrong_key_for_this_workspace' } });
    try {
      const response = await wrong.gql(LIST);
      expect(codes(response)).toEqual(['UPSTREAM_UNAUTHORIZED']);
      expect(response.text).not.toContain('sk_wrong_key_for_this_workspace');
    } finally {
      await wrong.close();
    }
  });

  it('429 with a long Retry-After → UPSTREAM_RATE_LIMITED with retryAfter, no retry', async () => {
    stack.simulator.faults.add({ kind: 'status', status: 429, retryAfter: '30' });
    const response = await stack.gql(LIST);
    expect(codes(response)).toEqual(['UPSTREAM_RATE_LIMITED']);
    expect(response.body.errors?.[0]?.extensions?.['retryAfter']).toBe(30);
    expect(stack.calls()).toHaveLength(1);
  });

  it('429 then success: retried transparently', async () => {
    stack.simulator.faults.add({ kind: 'status', status: 429, retryAfter: '0', times: 1 });
    const response = await stack.gql(LIST);
    expect(response.body.errors).toBeUndefined();
    expect(stack.calls()).toHaveLength(2);
  });

  it.each([500, 502, 503])('%i → UPSTREAM_UNAVAILABLE after the configured retries', async (status) => {
    stack.simulator.faults.add({ kind: 'status', status });
    const response = await stack.gql(ONE, { id: firstBatch() });
    expect(codes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(response.body.data).toEqual({ batchCall: null });
    expect(stack.calls()).toHaveLength(3); // 1 + UPSTREAM_MAX_RETRIES
  });

  it.each(['malformed_json', 'truncated_json'] as const)('%s → UPSTREAM_UNAVAILABLE', async (kind) => {
    stack.simulator.faults.add({ kind });
    const response = await stack.gql(LIST);
    expect(codes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(response.text).not.toMatch(/html|Unexpected token|SyntaxError/);
  });

  it.each(['malformed_json', 'truncated_json'] as const)('%s on a batch detail → UPSTREAM_UNAVAILABLE', async (kind) => {
    stack.simulator.faults.add({ kind, route: 'detail' });
    const response = await stack.gql(ONE, { id: firstBatch() });
    expect(codes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(response.text).not.toMatch(/html|Unexpected token|SyntaxError/);
    expect(stack.calls('detail')).toHaveLength(1); // not retried
  });

  describe('a detail body over 1 MB (parsed recipient by recipient)', () => {
    const BIG = `query($id: ID!, $after: String) { batchCall(id: $id) { batchId status recipients(first: 100, after: $after) {
      totalCount edges { node { recipientId status dynamicVariables } } pageInfo { endCursor } } } }`;
    let big = '';
    beforeAll(() => {
      big = stack.simulator.store.addBatch({ status: 'completed', recipients: 4_000 });
      expect(stack.simulator.store.detailBody(big)?.length ?? 0).toBeGreaterThan(1024 * 1024);
    });

    it('is read exactly as a whole-body parse would read it', async () => {
      const wire = stack.simulator.store.getBatch(big);
      const response = await stack.gql<{ batchCall: { recipients: { totalCount: number; edges: Array<{ node: { recipientId: string; dynamicVariables: unknown } }> } } }>(BIG, { id: big });
      expect(response.body.errors).toBeUndefined();
      const recipients = response.body.data?.batchCall.recipients;
      expect(recipients?.totalCount).toBe(4_000);
      expect(recipients?.edges.map((e) => e.node.recipientId)).toEqual(wire?.recipients.slice(0, 100).map((r) => r.id));
      expect(recipients?.edges[7]?.node.dynamicVariables).toEqual(wire?.recipients[7]?.conversation_initiation_client_data?.dynamic_variables ?? null);
    });

    it.each(['malformed_json', 'truncated_json'] as const)('%s → UPSTREAM_UNAVAILABLE, not retried', async (kind) => {
      stack.simulator.faults.add({ kind, route: 'detail', batchId: big });
      const response = await stack.gql(BIG, { id: big });
      expect(codes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
      expect(stack.calls('detail')).toHaveLength(1);
    });
  });

  it('a response missing required fields → UPSTREAM_UNAVAILABLE', async () => {
    stack.simulator.store.patchBatch(firstBatch(), { status: undefined });
    try {
      const response = await stack.gql(ONE, { id: firstBatch() });
      expect(codes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
    } finally {
      stack.simulator.store.patchBatch(firstBatch(), { status: 'completed' });
    }
  });

  it('an unreadable recipient fails only what reads the recipients; with the cache on, the next read refetches', async () => {
    const cached = await startStack({ env: { CACHE_ENABLED: 'true' } });
    try {
      const id = cached.simulator.store.addBatch({ status: 'completed', recipients: 5 });
      const third = cached.simulator.store.getBatch(id)?.recipients[2];
      if (third === undefined) throw new Error('no data');
      cached.simulator.store.patchRecipient(id, third.id, { created_at_unix: undefined });
      const fields = await cached.gql<{ batchCall: { name: string } }>(ONE, { id });
      expect(fields.body.errors).toBeUndefined();
      expect(fields.body.data?.batchCall.name).toBe(cached.simulator.store.getBatch(id)?.name);
      const WITH_RECIPIENTS = `query($id: ID!) { batchCall(id: $id) { name recipients(first: 2) { totalCount } } }`;
      const broken = await cached.gql<{ batchCall: { name: string; recipients: null } | null }>(WITH_RECIPIENTS, { id });
      expect(codes(broken)).toEqual(['UPSTREAM_UNAVAILABLE']);
      expect(cached.logs.filter((line) => line.includes('failed validation') && line.includes('recipients[2].created_at_unix'))).toHaveLength(1);
      // Served from the cache until then (one upstream call), dropped from it once found unreadable.
      expect(cached.calls('detail')).toHaveLength(1);
      cached.simulator.store.patchRecipient(id, third.id, { created_at_unix: 1_700_000_000 });
      const mended = await cached.gql<{ batchCall: { recipients: { totalCount: number } } }>(WITH_RECIPIENTS, { id });
      expect(mended.body.errors).toBeUndefined();
      expect(mended.body.data?.batchCall.recipients.totalCount).toBe(5);
      expect(cached.calls('detail')).toHaveLength(2);
    } finally {
      await cached.close();
    }
  });

  it('connection reset → UPSTREAM_UNAVAILABLE after retries', async () => {
    stack.simulator.faults.add({ kind: 'reset' });
    const response = await stack.gql(LIST);
    expect(codes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(stack.calls()).toHaveLength(3);
  });

  it('no answer → UPSTREAM_TIMEOUT after one attempt (a timed-out call is not retried)', async () => {
    stack.simulator.faults.add({ kind: 'hang' });
    const started = performance.now();
    const response = await stack.gql(LIST);
    const elapsed = performance.now() - started;
    expect(codes(response)).toEqual(['UPSTREAM_TIMEOUT']);
    // The caller has already waited the whole timeout; a slow upstream gets no extra load.
    expect(stack.calls()).toHaveLength(1);
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(400 + 1500);
  });

  it('a transient failure is retried and the client sees data', async () => {
    stack.simulator.faults.add({ kind: 'status', status: 503, times: 2 });
    const response = await stack.gql(ONE, { id: firstBatch() });
    expect(response.body.errors).toBeUndefined();
    expect(stack.calls()).toHaveLength(3);
  });
});

describe('bad arguments → BAD_USER_INPUT, with no upstream call', () => {
  it.each([
    ['first over the bound', `{ batchCalls(first: 101) { edges { cursor } } }`, /100/],
    ['first of zero', `{ batchCalls(first: 0) { edges { cursor } } }`, /1 and 100/],
    ['garbage cursor', `{ batchCalls(after: "garbage!") { edges { cursor } } }`, /cursor/i],
    ['cursor of another kind', `{ batchCalls(after: "WyJyIiwzLCIiXQ") { edges { cursor } } }`, /cursor/i],
    ['malformed id', `{ batchCall(id: "a/b") { name } }`, /id/i],
    ['global id of another type', `{ batchCall(id: "${Buffer.from('Recipient:x:y').toString('base64url')}") { name } }`, /BatchCall/],
    ['malformed agentId', `{ batchCalls(agentId: "x&limit=1") { edges { cursor } } }`, /agentId/],
  ])('%s', async (_name, query, message) => {
    const response = await stack.gql(query);
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.body.errors?.[0]?.message).toMatch(message);
    expect(stack.calls()).toHaveLength(0);
  });
});

describe('partial results', () => {
  it('one failing batch in a page leaves its siblings intact', async () => {
    const ids = stack.simulator.store.batchIds().slice(0, 4);
    const broken = ids[2] ?? '';
    stack.simulator.faults.add({ kind: 'status', status: 500, route: 'detail', batchId: broken });
    const response = await stack.gql<{ batchCalls: { edges: Array<{ node: { batchId: string; recipients: { totalCount: number } | null } }> } }>(
      `{ batchCalls(first: 4) { edges { node { batchId recipients(first: 1) { totalCount } } } } }`,
    );
    const edges = response.body.data?.batchCalls.edges ?? [];
    expect(edges.map((e) => e.node.batchId)).toEqual(ids);
    expect(edges.map((e) => e.node.recipients === null)).toEqual([false, false, true, false]);
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors?.[0]?.path).toEqual(['batchCalls', 'edges', 2, 'node', 'recipients']);
    expect(codes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
  });

  it('a failing batchCall leaves sibling root fields intact', async () => {
    const response = await stack.gql<{ ok: { batchId: string } | null; missing: null }>(
      `query($id: ID!) { ok: batchCall(id: $id) { batchId } missing: batchCall(id: "btcal_nope") { batchId } }`,
      { id: firstBatch() },
    );
    expect(response.body.data?.ok?.batchId).toBe(firstBatch());
    expect(response.body.data?.missing).toBeNull();
    expect(codes(response)).toEqual(['NOT_FOUND']);
  });
});

describe('open upstream enums', () => {
  it('an unknown value comes back as UNKNOWN with no error, and is logged', async () => {
    const id = firstBatch();
    const batch = stack.simulator.store.getBatch(id);
    const recipient = batch?.recipients[0];
    if (batch === undefined || recipient === undefined) throw new Error('no data');
    stack.simulator.store.patchBatch(id, { status: 'paused_for_review', phone_provider: 'vonage' });
    stack.simulator.store.patchRecipient(id, recipient.id, { status: 'screening' });
    const response = await stack.gql<{ batchCall: { status: string; phoneProvider: string; recipients: { edges: Array<{ node: { status: string } }> } } }>(
      `query($id: ID!) { batchCall(id: $id) { status phoneProvider recipients(first: 1) { edges { node { status } } } } }`,
      { id },
    );
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.batchCall.status).toBe('UNKNOWN');
    expect(response.body.data?.batchCall.phoneProvider).toBe('UNKNOWN');
    expect(response.body.data?.batchCall.recipients.edges[0]?.node.status).toBe('UNKNOWN');
    expect(stack.logs.some((l) => l.includes('paused_for_review'))).toBe(true);
  });
});
