import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/simulator/clock.js';
import { startStack, type Stack } from './helpers/stack.js';

/**
 * The compiled fast path must answer exactly as yoga does. Two gateways over two identical
 * simulators (same seed, same still clock): one with the fast path, one without; every case is
 * sent to both and the answers compared: status, content type, data and errors. Two differences
 * are allowed, both in the fast path's favour of the spec: its result keys follow the selection
 * set's order (yoga's executor puts asynchronously resolved fields last), and errors are compared
 * as a set ordered by path, as their order depends on when each field settled.
 */
let fast: Stack;
let slow: Stack;
beforeAll(async () => {
  const at = Date.now();
  [fast, slow] = await Promise.all([
    startStack({ clock: new ManualClock(at), env: { GATEWAY_FAST_PATH: 'true' } }),
    startStack({ clock: new ManualClock(at), env: { GATEWAY_FAST_PATH: 'false' } }),
  ]);
});
afterAll(async () => {
  await Promise.all([fast.close(), slow.close()]);
});

interface Raw {
  status: number;
  contentType: string | null;
  body: string;
}

async function send(stack: Stack, body: string, headers: Record<string, string>): Promise<Raw> {
  const response = await fetch(`${stack.gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, contentType: response.headers.get('content-type'), body: await response.text() };
}

function normalise(raw: Raw): unknown {
  const parsed = JSON.parse(raw.body) as { data?: unknown; errors?: Array<{ path?: unknown }> };
  const errors = parsed.errors?.slice().sort((x, y) => JSON.stringify(x.path ?? null).localeCompare(JSON.stringify(y.path ?? null)));
  return { status: raw.status, contentType: raw.contentType, data: parsed.data, errors, keys: Object.keys(parsed) };
}

async function servedBy(stack: Stack): Promise<Record<string, number>> {
  const text = await (await fetch(`${stack.gateway.url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^gateway_graphql_requests_total\{path="(\w+)"\} (\d+)$/gm)) counts[match[1] ?? ''] = Number(match[2]);
  return counts;
}

describe('fast path parity with yoga', () => {
  const cases = (ids: string[]): Array<[string, Record<string, unknown>]> => {
    const [a = '', b = ''] = ids;
    return [
      ['one batch', { query: `{ batchCall(id: "${a}") { id batchId name status createdAt totalCallsFinished whatsappParams { whatsappPhoneNumberId } } }` }],
      ['a page with recipients', { query: '{ batchCalls(first: 3) { edges { cursor node { name recipients(first: 2, status: [COMPLETED]) { totalCount edges { node { id status dynamicVariables } } } } } pageInfo { hasNextPage endCursor } } }' }],
      ['variables, fragments, aliases', {
        query: 'query Q($id: ID!, $n: Int) { x: batchCall(id: $id) { ...F } y: batchCalls(first: $n) { edges { node { ...F } } } } fragment F on BatchCall { name status }',
        variables: { id: b, n: 2 },
        operationName: 'Q',
      }],
      ['operationName picks one of several', { query: 'query A { batchCalls(first: 1) { edges { cursor } } } query B { __typename }', operationName: 'B' }],
      ['NOT_FOUND with a null field and its location', { query: '{ ok: batchCall(id: "' + a + '") { name } missing: batchCall(id: "btcal_none") { name } }' }],
      ['BAD_USER_INPUT that nulls the whole data', { query: '{ batchCalls(first: 500) { edges { cursor } } }' }],
      ['an error deep in a list', { query: '{ batchCalls(first: 2) { edges { node { recipients(first: 0) { totalCount } } } } }' }],
      ['node and nodes', { query: `query($g: ID!) { node(id: $g) { id ... on BatchCall { name } } nodes(ids: [$g, "bad"]) { id } }`, variables: { g: Buffer.from(`BatchCall:${a}`).toString('base64url') } }],
      ['a validation error (yoga answers)', { query: '{ batchCals { id } }' }],
      ['a syntax error (yoga answers)', { query: '{ batchCalls(' }],
      ['bad variables (yoga answers)', { query: 'query($n: Int) { batchCalls(first: $n) { edges { cursor } } }', variables: { n: 'many' } }],
      ['introspection', { query: '{ __type(name: "BatchCall") { name fields { name } } }' }],
    ];
  };

  it.each([
    ['application/json', { accept: 'application/json' }],
    ['application/graphql-response+json', { accept: 'application/graphql-response+json, application/json' }],
    ['no Accept header', {}],
  ])('answers identically with %s', async (_label, headers) => {
    const ids = fast.simulator.store.batchIds().slice(0, 2);
    expect(slow.simulator.store.batchIds().slice(0, 2)).toEqual(ids);
    for (const [name, payload] of cases(ids)) {
      const body = JSON.stringify(payload);
      const [a, b] = await Promise.all([send(fast, body, headers), send(slow, body, headers)]);
      expect(normalise(a), name).toEqual(normalise(b));
    }
  });

  it('serves plain JSON queries itself and leaves the rest to yoga', async () => {
    const before = await servedBy(fast);
    await send(fast, JSON.stringify({ query: '{ batchCalls(first: 1) { edges { cursor } } }' }), {});
    await send(fast, JSON.stringify({ query: '{ batchCals }' }), {});
    const after = await servedBy(fast);
    expect((after['fast'] ?? 0) - (before['fast'] ?? 0)).toBe(1);
    expect((after['yoga'] ?? 0) - (before['yoga'] ?? 0)).toBe(1);
    expect(await servedBy(slow)).not.toHaveProperty('fast');
  });
});
