import { afterAll, beforeAll, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { UPSTREAM_TIMEOUT_MS: '20000', OPERATION_TIMEOUT_MS: '30000' } });
});
afterAll(async () => {
  await stack.close();
});

it('a client that disconnects cancels its upstream calls', async () => {
  stack.simulator.faults.add({ kind: 'hang', route: 'detail' });
  const query = `{ batchCalls(first: 3) { edges { node { recipients(first: 1) { totalCount } } } } }`;
  const request = fetch(`${stack.gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
    signal: AbortSignal.timeout(300),
  });
  await expect(request).rejects.toThrow();
  await expect.poll(() => stack.calls('detail').length, { timeout: 2_000 }).toBe(3);
  // The gateway gave up its three hanging upstream calls well before its own 20 s timeout.
  await expect.poll(() => stack.simulator.inFlight, { timeout: 3_000 }).toBe(0);
});
