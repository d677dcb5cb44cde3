import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, TEST_API_KEY, type Stack } from './helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: { UPSTREAM_MAX_RETRIES: '1', UPSTREAM_TIMEOUT_MS: '300', GATEWAY_API_TOKENS: CLIENT_TOKEN },
    headers: { authorization: `Bearer ${CLIENT_TOKEN}` },
  });
});
afterAll(async () => {
  await stack.close();
});

const CLIENT_TOKEN = 'job-token-0123456789abcdef';
const CLIENT_HEADERS = {
  authorization: `Bearer ${CLIENT_TOKEN}`,
  cookie: 'session=abc',
  'xi-api-key': 'sk_client_supplied_key',
  'x-forwarded-for': '203.0.113.9',
  'x-custom': 'from-the-browser',
};

describe('the upstream key', () => {
  it('reaches the upstream as xi-api-key and nothing from the client is forwarded', async () => {
    stack.resetCalls();
    const response = await stack.gql(`{ batchCalls(first: 2) { edges { node { recipients(first: 1) { totalCount } } } } }`, {}, CLIENT_HEADERS);
    expect(response.body.errors).toBeUndefined();
    const calls = stack.calls();
    expect(calls.length).toBe(3);
    for (const call of calls) {
      expect(call.headers['xi-api-key']).toBe(TEST_API_KEY);
      expect(call.headers['authorization']).toBeUndefined();
      expect(call.headers['cookie']).toBeUndefined();
      expect(call.headers['x-forwarded-for']).toBeUndefined();
      expect(call.headers['x-custom']).toBeUndefined();
      // Only what the client library needs: no header names from the client request at all.
      expect(Object.keys(call.headers).sort()).toEqual(expect.arrayContaining(['accept', 'host', 'xi-api-key']));
      expect(Object.keys(call.headers).filter((h) => h.startsWith('x-'))).toEqual([]);
    }
  });

  it('appears in no response body or header, and in no log line, whatever happened', async () => {
    const id = stack.simulator.store.batchIds()[0] ?? '';
    const traffic: Array<() => Promise<unknown>> = [
      () => stack.gql(`{ batchCalls(first: 5) { edges { node { id name status recipients(first: 2) { edges { node { id dynamicVariables } } } } } } }`),
      () => stack.gql(`query($id: ID!) { batchCall(id: $id) { name } }`, { id }),
      () => stack.gql(`{ batchCall(id: "btcal_missing") { name } }`),
      () => stack.gql(`{ batchCalls(first: 500) { edges { cursor } } }`),
      () => stack.gql(`{ nope }`),
    ];
    const faults = [
      { kind: 'status', status: 401 },
      { kind: 'status', status: 403 },
      { kind: 'status', status: 429, retryAfter: '1' },
      { kind: 'status', status: 500 },
      { kind: 'status', status: 422 },
      { kind: 'reset' },
      { kind: 'malformed_json' },
      { kind: 'truncated_json' },
      { kind: 'hang' },
    ] as const;
    const before = stack.responses.length;
    for (const run of traffic) await run();
    for (const fault of faults) {
      stack.simulator.faults.clear();
      stack.simulator.faults.add(fault);
      for (const run of traffic) await run();
    }
    stack.simulator.faults.clear();
    const health = await fetch(`${stack.gateway.url}/health`);
    const ready = await fetch(`${stack.gateway.url}/ready`);
    const extra = [await health.text(), await ready.text(), JSON.stringify([...health.headers, ...ready.headers])];

    expect(stack.responses.length - before).toBe(traffic.length * (faults.length + 1));
    expect(stack.logs.length).toBeGreaterThan(20);
    for (const text of [...stack.responses, ...extra, ...stack.logs]) {
      expect(text).not.toContain(TEST_API_KEY);
      expect(text).not.toContain(TEST_API_KEY.slice(8, 24)); // nor a recognisable piece of it
    }
    // The logs did see the failures: the search covered the paths that could leak.
    expect(stack.logs.some((l) => l.includes('retrying upstream call'))).toBe(true);
    // Nor the upstream URL or internals in client-facing errors.
    for (const text of stack.responses) {
      expect(text).not.toContain(stack.simulator.url);
      expect(text).not.toMatch(/at .+\.ts:\d+/);
    }
  });
});
