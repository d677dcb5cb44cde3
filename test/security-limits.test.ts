import { parse } from 'graphql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GRAPHIQL_DEFAULT_QUERY } from '../src/app.js';
import { estimateUpstreamCalls } from '../src/security/upstream-cost.js';
import { ManualClock } from '../src/simulator/clock.js';
import { codes, startStack, type GraphQLResponse, type Stack } from './helpers/stack.js';

/**
 * Query limits over real HTTP: GraphQL Armor's structural limits and the upstream fan-out limit,
 * each refusing with QUERY_TOO_COMPLEX before the upstream is called (counted at the simulator).
 */

let stack: Stack; // default limits: depth 12, aliases 15, tokens 2000, directives 20, cost 5000, upstream calls 50
let shallow: Stack; // QUERY_MAX_DEPTH=6
let cheap: Stack; // QUERY_MAX_COST=30
let narrow: Stack; // QUERY_MAX_UPSTREAM_CALLS=5
let scanning: Stack; // QUERY_MAX_UPSTREAM_CALLS=5, FILTER_PAGE_BUDGET=2
let all: Stack[] = [];

beforeAll(async () => {
  // A still clock: pages must not shift between the requests a test compares.
  const clock = (): ManualClock => new ManualClock(Date.now());
  [stack, shallow, cheap, narrow, scanning] = await Promise.all([
    startStack({ clock: clock() }),
    startStack({ clock: clock(), env: { QUERY_MAX_DEPTH: '6' } }),
    startStack({ clock: clock(), env: { QUERY_MAX_COST: '30' } }),
    startStack({ clock: clock(), env: { QUERY_MAX_UPSTREAM_CALLS: '5' } }),
    startStack({ clock: clock(), env: { QUERY_MAX_UPSTREAM_CALLS: '5', FILTER_PAGE_BUDGET: '2' } }),
  ]);
  all = [stack, shallow, cheap, narrow, scanning];
});
afterAll(async () => {
  await Promise.all(all.map((s) => s.close()));
});
beforeEach(() => {
  for (const s of all) s.resetCalls();
});

/** The gateway's defaults (FILTER_PAGE_BUDGET, SUMMARY_PAGE_BUDGET), which these stacks run with. */
const BUDGETS = { filterPageBudget: 10, summaryPageBudget: 20 } as const;
const gid = (type: string, id: string): string => Buffer.from(`${type}:${id}`, 'utf8').toString('base64url');
const ids = (s: Stack, n: number): string[] => {
  const out = s.simulator.store.batchIds().slice(0, n);
  if (out.length < n) throw new Error(`the simulator has fewer than ${n} batches`);
  return out;
};
const RECIPIENTS = 'edges { node { batchId recipients(first: 1) { totalCount } } }';

/** Refused as too complex, with nothing executed and no upstream call. */
function expectRefused(s: Stack, response: GraphQLResponse<unknown>, message: RegExp): void {
  expect(response.status === 200 || response.status === 400).toBe(true);
  expect(response.body.errors?.length ?? 0).toBeGreaterThan(0);
  expect(codes(response).every((code) => code === 'QUERY_TOO_COMPLEX')).toBe(true);
  expect(response.body.errors?.some((e) => message.test(e.message))).toBe(true);
  expect(response.body.data ?? null).toBeNull();
  expect(s.calls()).toEqual([]);
}

function expectServed(response: GraphQLResponse<unknown>): void {
  expect(response.status).toBe(200);
  expect(response.body.errors).toBeUndefined();
  expect(response.body.data).toBeTruthy();
}

describe('alias limit (QUERY_MAX_ALIASES=15)', () => {
  it('refuses 16 aliases of batchCall with distinct ids, with no upstream call', async () => {
    const batchIds = ids(stack, 16);
    const query = `{ ${batchIds.map((id, i) => `b${i}: batchCall(id: "${id}") { name }`).join('\n')} }`;
    const response = await stack.gql(query);
    expectRefused(stack, response, /^Aliases limit of 15 exceeded, found 16\.$/);
  });

  it('counts aliases hidden in fragments too', async () => {
    const batchIds = ids(stack, 16);
    const query = `{ ...A ...B }
      fragment A on Query { ${batchIds.slice(0, 8).map((id, i) => `a${i}: batchCall(id: "${id}") { name }`).join(' ')} }
      fragment B on Query { ${batchIds.slice(8).map((id, i) => `b${i}: node(id: "${gid('BatchCall', id)}") { id }`).join(' ')} }`;
    expectRefused(stack, await stack.gql(query), /Aliases limit of 15 exceeded/);
  });

  it('serves 15 aliases (at the limit), one upstream call each', async () => {
    const batchIds = ids(stack, 15);
    const response = await stack.gql<Record<string, { batchId: string }>>(
      `{ ${batchIds.map((id, i) => `b${i}: batchCall(id: "${id}") { batchId }`).join(' ')} }`,
    );
    expectServed(response);
    expect(Object.values(response.body.data ?? {}).map((b) => b.batchId)).toEqual(batchIds);
    expect(stack.calls('detail').map((c) => c.batchId).sort()).toEqual([...batchIds].sort());
    expect(stack.calls()).toHaveLength(15);
  });
});

describe('depth limit', () => {
  // The schema is shallow (the deepest real path has 11 levels), so the limit is tested at 6.
  const deep = (id: string): string => `{ batchCall(id: "${id}") { recipients(first: 1) { edges { node {
    conversationInitiationClientData { conversationConfigOverride { agent { prompt { llm } } } } } } } } }`;

  it('refuses a query nested past QUERY_MAX_DEPTH, with no upstream call', async () => {
    const [id = ''] = ids(shallow, 1);
    expectRefused(shallow, await shallow.gql(deep(id)), /^Query depth limit of 6 exceeded, found 9\.$/);
  });

  it('counts the depth through named and inline fragments', async () => {
    const [id = ''] = ids(shallow, 1);
    const query = `{ batchCall(id: "${id}") { ...B } }
      fragment B on BatchCall { recipients(first: 1) { ...C } }
      fragment C on RecipientConnection { edges { node { ... on Recipient { ...R } } } }
      fragment R on Recipient { conversationInitiationClientData { conversationConfigOverride { tts { voiceId } } } }`;
    expectRefused(shallow, await shallow.gql(query), /^Query depth limit of 6 exceeded, found 8\.$/);
    const viaNode = `query($id: ID!) { node(id: $id) { ... on BatchCall { recipients { edges { node { conversationInitiationClientData { sourceInfo { version } } } } } } } }`;
    expectRefused(shallow, await shallow.gql(viaNode, { id: gid('BatchCall', id) }), /^Query depth limit of 6 exceeded, found 7\.$/);
  });

  it('serves a query exactly at the limit', async () => {
    const [id = ''] = ids(shallow, 1);
    const response = await shallow.gql(`{ batchCall(id: "${id}") { recipients(first: 1) { edges { node { conversationInitiationClientData { userId } } } } } }`);
    expectServed(response);
    expect(shallow.calls()).toHaveLength(1);
  });

  it('the default limit of 12 serves the deepest path the schema has', async () => {
    const response = await stack.gql(`{ batchCalls(first: 2) { edges { node { recipients(first: 2) { edges { node {
      conversationInitiationClientData { conversationConfigOverride { agent { prompt { llm } } turn { softTimeoutConfig { message } } } } } } } } } } }`);
    expectServed(response);
    expect(stack.calls('list')).toHaveLength(1);
    expect(stack.calls('detail')).toHaveLength(2);
  });
});

describe('token limit (QUERY_MAX_TOKENS=2000)', () => {
  it('refuses a document of more than 2000 tokens, with no upstream call', async () => {
    const response = await stack.gql(`{ batchCalls { edges { node { ${'name '.repeat(2_000)} } } } }`);
    expect(response.status).toBe(400);
    expectRefused(stack, response, /^Token limit of 2000 exceeded\.$/);
  });

  it('counts tokens anywhere in the document: in unused fragments and in arguments', async () => {
    const unused = `{ batchCalls(first: 1) { edges { cursor } } } fragment Unused on BatchCall { ${'agentName '.repeat(2_000)} }`;
    expectRefused(stack, await stack.gql(unused), /Token limit of 2000 exceeded/);
    const list = `{ nodes(ids: [${Array.from({ length: 2_100 }, (_, i) => `"x${i}"`).join(' ')}]) { id } }`;
    expectRefused(stack, await stack.gql(list), /Token limit of 2000 exceeded/);
  });

  it('serves a long document under the limit', async () => {
    // Tokens in an argument list: long for the token count, cheap for the cost limit.
    const [id = ''] = ids(stack, 1);
    const response = await stack.gql(`{ batchCall(id: "${id}") { recipients(first: 1, status: [${'COMPLETED '.repeat(1_950)}]) { totalCount } } }`);
    expectServed(response);
    expect(stack.calls()).toHaveLength(1);
  });
});

describe('directive limit (QUERY_MAX_DIRECTIVES=20)', () => {
  it('refuses more than 20 directives, with no upstream call', async () => {
    const response = await stack.gql(`{ batchCalls(first: 1) { edges { node { ${'name @include(if: true) '.repeat(21)} } } } }`);
    expectRefused(stack, response, /^Directives limit of 20 exceeded, found 21\.$/);
  });

  it('counts @skip and @include alike, on fields and fragments', async () => {
    const directives = [
      ...Array.from({ length: 10 }, () => 'agentName @skip(if: false)'),
      ...Array.from({ length: 10 }, () => '... on BatchCall @include(if: true) { status }'),
      '...F @skip(if: false)',
    ].join(' ');
    const response = await stack.gql(`{ batchCalls(first: 1) { edges { node { ${directives} } } } } fragment F on BatchCall { name }`);
    expectRefused(stack, response, /Directives limit of 20 exceeded, found 21/);
  });

  it('serves 20 directives', async () => {
    const response = await stack.gql(`{ batchCalls(first: 1) { edges { node { ${'name @include(if: true) '.repeat(20)} } } } }`);
    expectServed(response);
    expect(stack.calls()).toHaveLength(1);
  });
});

describe('cost limit', () => {
  it('refuses a query over QUERY_MAX_COST, with no upstream call', async () => {
    const response = await cheap.gql('{ batchCalls(first: 2) { edges { node { name agentName status createdAt retryCount } } } }');
    expectRefused(cheap, response, /^Query Cost limit of 30 exceeded, found [\d.]+\.$/);
  });

  it('counts the cost through fragments', async () => {
    const response = await cheap.gql(`{ batchCalls(first: 2) { ...C } }
      fragment C on BatchCallConnection { edges { ...E } } fragment E on BatchCallEdge { node { name agentName status } }`);
    expectRefused(cheap, response, /^Query Cost limit of 30 exceeded/);
  });

  it('serves a cheap query', async () => {
    const response = await cheap.gql('{ batchCalls(first: 1) { edges { cursor } } }');
    expectServed(response);
    expect(cheap.calls()).toHaveLength(1);
  });

  it('the default cost limit refuses a fragment fan-out that multiplies without aliases', async () => {
    // Repeating a field merges it, so no alias is needed; each level multiplies the work by 10.
    const query = `{ ${'batchCalls { ...C } '.repeat(10)} }
      fragment C on BatchCallConnection { ${'edges { ...E } '.repeat(10)} }
      fragment E on BatchCallEdge { ${'node { ...N } '.repeat(10)} }
      fragment N on BatchCall { ${'whatsappParams { whatsappPhoneNumberId } '.repeat(10)} }`;
    const started = performance.now();
    const response = await stack.gql(query);
    expectRefused(stack, response, /^Query Cost limit of 5000 exceeded/);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('fragment cycles', () => {
  it('are refused by validation quickly, before the fan-out estimate runs, with no upstream call', async () => {
    // The estimate walks fragments without the validation's cycle check; this must never reach it.
    const started = performance.now();
    const response = await stack.gql('{ batchCalls { ...N } } fragment N on BatchCallConnection { edges { ...N } pageInfo { ...N } }');
    expect(response.status).toBe(400);
    expect(codes(response).every((code) => code === 'GRAPHQL_VALIDATION_FAILED')).toBe(true);
    expect(response.body.errors?.[0]?.message).toMatch(/Cannot spread fragment "N" within itself/);
    expect(stack.calls()).toEqual([]);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('upstream fan-out limit (QUERY_MAX_UPSTREAM_CALLS)', () => {
  it('refuses batchCalls(first: 100) with recipients before any upstream call, naming the estimate and the limit', async () => {
    const response = await stack.gql('{ batchCalls(first: 100) { edges { node { recipients { totalCount } } } } }');
    expectRefused(stack, response, /^This operation would need up to 101 upstream calls; the limit is 50$/);
  });

  it('serves first: 49 with recipients (1 + 49 = 50 calls, at the limit) and makes exactly 50 upstream calls', async () => {
    const response = await stack.gql<{ batchCalls: { edges: Array<{ node: { batchId: string; recipients: { totalCount: number } } }> } }>(
      `{ batchCalls(first: 49) { ${RECIPIENTS} } }`,
    );
    expectServed(response);
    const edges = response.body.data?.batchCalls.edges ?? [];
    expect(edges).toHaveLength(49);
    expect(stack.calls()).toHaveLength(50);
    expect(stack.calls('list')).toHaveLength(1);
    expect(stack.calls('detail').map((c) => c.batchId).sort()).toEqual(edges.map((e) => e.node.batchId).sort());
    for (const edge of edges) {
      expect(edge.node.recipients.totalCount).toBe(stack.simulator.store.getBatch(edge.node.batchId)?.recipients.length);
    }
  });

  it('refuses first: 50 with recipients (51 calls)', async () => {
    expectRefused(stack, await stack.gql(`{ batchCalls(first: 50) { ${RECIPIENTS} } }`), /up to 51 upstream calls; the limit is 50/);
  });

  it('refuses the default page (20) of two connections with recipients: the fields add up', async () => {
    const response = await stack.gql(`{ a: batchCalls { ${RECIPIENTS} } b: batchCalls(agentId: "x") { ${RECIPIENTS} } c: batchCalls(first: 8) { ${RECIPIENTS} } }`);
    expectRefused(stack, response, /up to 51 upstream calls; the limit is 50/);
  });

  it('refuses distinct batchCall aliases within the alias limit but over a low call limit', async () => {
    const batchIds = ids(narrow, 6);
    const query = `{ ${batchIds.map((id, i) => `b${i}: batchCall(id: "${id}") { name }`).join(' ')} }`;
    expectRefused(narrow, await narrow.gql(query), /^This operation would need up to 6 upstream calls; the limit is 5$/);
    const viaNodes = await narrow.gql('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: batchIds.map((id) => gid('BatchCall', id)) });
    expectRefused(narrow, viaNodes, /up to 6 upstream calls; the limit is 5/);
    const mixed = await narrow.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id } x: batchCall(id: "${batchIds[5] ?? ''}") { name } }`, {
      ids: batchIds.slice(0, 5).map((id) => gid('BatchCall', id)),
    });
    expectRefused(narrow, mixed, /up to 6 upstream calls; the limit is 5/);
  });

  it('serves 5 distinct batches at a limit of 5', async () => {
    const batchIds = ids(narrow, 5);
    const response = await narrow.gql(`{ ${batchIds.map((id, i) => `b${i}: batchCall(id: "${id}") { name }`).join(' ')} }`);
    expectServed(response);
    expect(narrow.calls('detail').map((c) => c.batchId).sort()).toEqual([...batchIds].sort());
  });

  it('counts the same id repeated in aliases once (and fetches it once)', async () => {
    const [id = ''] = ids(narrow, 1);
    const query = `{ ${Array.from({ length: 15 }, (_, i) => `b${i}: batchCall(id: "${id}") { name recipients(first: ${i + 1}) { totalCount } }`).join(' ')} }`;
    const response = await narrow.gql<Record<string, { name: string }>>(query);
    expectServed(response);
    expect(Object.keys(response.body.data ?? {})).toHaveLength(15);
    expect(narrow.calls().map((c) => c.batchId)).toEqual([id]);
    const viaNodes = await narrow.gql('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: Array.from({ length: 40 }, () => gid('BatchCall', id)) });
    expectServed(viaNodes);
    expect(narrow.calls()).toHaveLength(2);
  });

  describe('honours fragments and variables', () => {
    const byFragment = `query($n: Int) { batchCalls(first: $n) { ...Page } }
      fragment Page on BatchCallConnection { edges { ...Edge } }
      fragment Edge on BatchCallEdge { node { batchId ...Recipients } }
      fragment Recipients on BatchCall { recipients(first: 1) { totalCount } }`;
    const byInline = `query($n: Int) { batchCalls(first: $n) { edges { node { ... on BatchCall { ... { recipients { totalCount } } } } } } }`;

    it('`first` as a variable, recipients through a named fragment', async () => {
      expectRefused(stack, await stack.gql(byFragment, { n: 100 }), /up to 101 upstream calls; the limit is 50/);
      expectRefused(narrow, await narrow.gql(byFragment, { n: 5 }), /up to 6 upstream calls; the limit is 5/);
      const served = await narrow.gql(byFragment, { n: 4 });
      expectServed(served);
      expect(narrow.calls()).toHaveLength(5);
    });

    it('`first` as a variable, recipients through inline fragments', async () => {
      expectRefused(stack, await stack.gql(byInline, { n: 50 }), /up to 51 upstream calls; the limit is 50/);
      // No variable: the default page of 20.
      expectRefused(narrow, await narrow.gql(byInline, {}), /up to 21 upstream calls; the limit is 5/);
      const served = await stack.gql(byInline, { n: 49 });
      expectServed(served);
      expect(stack.calls()).toHaveLength(50);
    });

    it('an out-of-range `first` is refused as too complex before the resolver sees it', async () => {
      expectRefused(stack, await stack.gql(byInline, { n: 1_000 }), /up to 101 upstream calls; the limit is 50/);
      // Without recipients it costs one call, and the resolver refuses the value itself.
      const response = await stack.gql('query($n: Int) { batchCalls(first: $n) { edges { cursor } } }', { n: 1_000 });
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(stack.calls()).toEqual([]);
    });

    it('ids as variables: distinct ones count, repeated ones do not', async () => {
      const query = 'query($a: ID!, $b: ID!, $ids: [ID!]!) { x: batchCall(id: $a) { name } y: batchCall(id: $b) { name } nodes(ids: $ids) { id } }';
      const batchIds = ids(narrow, 6);
      const [a = '', b = ''] = batchIds;
      expectRefused(narrow, await narrow.gql(query, { a, b, ids: batchIds.slice(2).map((id) => gid('BatchCall', id)) }), /up to 6 upstream calls; the limit is 5/);
      const served = await narrow.gql(query, { a, b: a, ids: [gid('BatchCall', a), gid('BatchCall', a), gid('BatchCall', b)] });
      expectServed(served);
      expect(narrow.calls()).toHaveLength(2);
    });
  });
});

describe('the run-time budget', () => {
  /** A cursor the gateway issued, `skip` items into the first upstream page. */
  async function cursorAt(skip: number): Promise<string> {
    const page = await stack.gql<{ batchCalls: { edges: Array<{ cursor: string }> } }>(`{ batchCalls(first: ${skip + 1}) { edges { cursor } } }`);
    const cursor = page.body.data?.batchCalls.edges[skip - 1]?.cursor;
    if (cursor === undefined) throw new Error('no cursor');
    stack.resetCalls();
    return cursor;
  }

  it('counts a window that runs over two upstream pages as two list calls, and refuses it before running', async () => {
    // From 60 items into the first upstream page, 49 batches span two list pages: 2 + 49 = 51.
    const after = await cursorAt(60);
    const query = `query($after: String) { batchCalls(first: 49, after: $after) { ${RECIPIENTS} } }`;
    expect(estimateUpstreamCalls(parse(query), null, { after }, BUDGETS)).toBe(51);
    expectRefused(stack, await stack.gql(query, { after }), /up to 51 upstream calls; the limit is 50/);
    // 40 from the same cursor stays within one page after it: 2 + 40 = 42 calls, served.
    const served = await stack.gql(`query($after: String) { batchCalls(first: 40, after: $after) { ${RECIPIENTS} } }`, { after });
    expectServed(served);
    expect(stack.calls()).toHaveLength(41);
  });

  it('counts a `first` that comes from a variable default, and refuses it before running', async () => {
    const query = `query($first: Int = 60) { batchCalls(first: $first) { ${RECIPIENTS} } }`;
    expect(estimateUpstreamCalls(parse(query), null, {}, BUDGETS)).toBe(61);
    expectRefused(stack, await stack.gql(query, {}), /up to 61 upstream calls; the limit is 50/);
  });

  it('stops issuing upstream calls at the budget when the upstream sends a short page the estimate could not foresee', async () => {
    // A real next_doc, then a fault that answers the first list call with an empty page that says
    // there is more: the window reads a second page, one list call more than estimated.
    const real = await narrow.simulator.store.listBatches({ limit: 4 });
    narrow.simulator.faults.add({
      kind: 'status', status: 200, route: 'list', times: 1,
      body: { batch_calls: [], next_doc: real.next_doc, has_more: true },
    });
    narrow.resetCalls();
    const query = `{ batchCalls(first: 4) { ${RECIPIENTS} } }`;
    expect(estimateUpstreamCalls(parse(query), null, null, BUDGETS)).toBe(5);
    const response = await narrow.gql<{ batchCalls: { edges: Array<{ node: { recipients: { totalCount: number } | null } }> } }>(query);
    // 2 list calls + 3 detail calls = the budget of 5; the fourth detail is not called.
    expect(narrow.calls('list')).toHaveLength(2);
    expect(narrow.calls('detail')).toHaveLength(3);
    const edges = response.body.data?.batchCalls.edges ?? [];
    expect(edges).toHaveLength(4);
    expect(edges.filter((e) => e.node.recipients === null)).toHaveLength(1);
    expect(codes(response)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(response.body.errors?.[0]?.message).toBe('This operation reached its limit of 5 upstream calls');
  });

  it('agrees with the estimate on representative queries: actual calls never exceed it', async () => {
    const batchIds = ids(stack, 4);
    const [a = '', b = '', c = '', d = ''] = batchIds;
    const cases: Array<{ query: string; variables?: Record<string, unknown>; actual: number }> = [
      { query: '{ batchCalls(first: 10) { edges { node { name } } } }', actual: 1 },
      { query: `{ batchCalls(first: 10) { ${RECIPIENTS} } }`, actual: 11 },
      { query: `{ batchCalls(agentId: "${stack.simulator.store.agents()[0]?.id ?? ''}", first: 3) { ${RECIPIENTS} } }`, actual: 4 },
      { query: `{ x: batchCall(id: "${a}") { name } y: batchCall(id: "${b}") { recipients { totalCount } } z: batchCall(id: "${a}") { status } }`, actual: 2 },
      { query: 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', variables: { ids: [gid('BatchCall', a), gid('BatchCall', c), gid('BatchCall', a)] }, actual: 2 },
      // The same batch by raw id and global id: two ids to the estimate, one fetch in fact.
      { query: `query($g: ID!) { batchCall(id: "${d}") { name } node(id: $g) { id } }`, variables: { g: gid('BatchCall', d) }, actual: 1 },
      { query: 'query($r: ID!) { node(id: $r) { ... on Recipient { status } } }', variables: { r: gid('Recipient', `${b}:no-such-recipient`) }, actual: 1 },
      { query: '{ batchCall(id: "not-a-known-batch") { name } }', actual: 1 },
      { query: '{ batchCall(id: "../../workspace") { name } }', actual: 0 },
      { query: `{ batchCalls(first: 3) { ${RECIPIENTS} } batchCall(id: "${a}") { name } }`, actual: 4 },
      { query: GRAPHIQL_DEFAULT_QUERY, actual: 6 },
      { query: GRAPHIQL_DEFAULT_QUERY, variables: { first: 12 }, actual: 13 },
    ];
    for (const { query, variables, actual } of cases) {
      stack.resetCalls();
      const estimate = estimateUpstreamCalls(parse(query), null, variables ?? null, BUDGETS);
      const response = await stack.gql(query, variables);
      expect(response.status, query).toBe(200);
      expect(codes(response).includes('QUERY_TOO_COMPLEX'), query).toBe(false);
      expect(stack.calls(), query).toHaveLength(actual);
      expect(actual, query).toBeLessThanOrEqual(estimate);
    }
  });
});

describe('filters, agents and nested lists', () => {
  const FILTERED = (first: number): string =>
    `{ batchCalls(first: ${first}, filter: { status: [COMPLETED, FAILED] }) { ${RECIPIENTS} } }`;

  it('refuses a filtered list whose page budget plus details is over the limit, before any upstream call', async () => {
    // FILTER_PAGE_BUDGET (10) list calls + 41 details.
    expectRefused(stack, await stack.gql(FILTERED(41)), /^This operation would need up to 51 upstream calls; the limit is 50$/);
    const served = await stack.gql(FILTERED(40));
    expectServed(served);
    expect(stack.calls().length).toBeLessThanOrEqual(50);
    expect(stack.calls('detail')).toHaveLength(40);
  });

  it('takes the page budget from FILTER_PAGE_BUDGET', async () => {
    // 2 list calls + 3 details = 5, at the limit; one batch more is refused.
    const served = await scanning.gql(FILTERED(3));
    expectServed(served);
    expect(scanning.calls().length).toBeLessThanOrEqual(5);
    scanning.resetCalls();
    expectRefused(scanning, await scanning.gql(FILTERED(4)), /^This operation would need up to 6 upstream calls; the limit is 5$/);
    // With the default budget of 10, no filtered list fits a limit of 5.
    expectRefused(narrow, await narrow.gql('{ batchCalls(first: 1, filter: { nameContains: "a" }) { edges { cursor } } }'), /up to 10 upstream calls; the limit is 5/);
  });

  it('refuses an over-budget nested query (an agent\'s list under each batch) with no upstream call', async () => {
    const nested = '{ batchCalls(first: 5) { edges { node { agent { batchCalls(first: 10, filter: { status: [COMPLETED] }) { edges { cursor } } } } } } }';
    // 1 list + 5 batches x 10 pages of their agent's filtered list.
    expectRefused(stack, await stack.gql(nested), /^This operation would need up to 51 upstream calls; the limit is 50$/);
    const [id = ''] = ids(narrow, 1);
    const single = (first: number): string =>
      `{ batchCall(id: "${id}") { agent { batchCalls(first: ${first}) { edges { node { recipientStats { total } } } } } } }`;
    expectRefused(narrow, await narrow.gql(single(4)), /^This operation would need up to 6 upstream calls; the limit is 5$/);
    expectServed(await narrow.gql(single(3)));
    // The batch's detail, its agent's list, and the details of that list's 3 batches (the batch itself among them, fetched once).
    expect(narrow.calls('list')).toHaveLength(1);
    expect(narrow.calls().length).toBeLessThanOrEqual(5);
  });

  it('prices an Agent global ID in node as one list call', async () => {
    const agentId = narrow.simulator.store.agents()[0]?.id ?? '';
    const query = `query($id: ID!) { node(id: $id) { ... on Agent { name batchCalls(first: 3) { ${RECIPIENTS} } } } }`;
    expect(estimateUpstreamCalls(parse(query), null, { id: gid('Agent', agentId) }, BUDGETS)).toBe(1 + 1 + 3);
    expectServed(await narrow.gql(query, { id: gid('Agent', agentId) }));
    expect(narrow.calls()).toHaveLength(5);
    narrow.resetCalls();
    const many = `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Agent { batchCalls(first: 1) { ${RECIPIENTS} } } } }`;
    const agents = narrow.simulator.store.agents().slice(0, 2).map((a) => gid('Agent', a.id));
    expectRefused(narrow, await narrow.gql(many, { ids: agents }), /up to 6 upstream calls; the limit is 5/);
  });

  it('refuses a subscription whose every event would be over the limit, before anything is polled', async () => {
    const [id = ''] = ids(stack, 1);
    const query = `subscription { batchCallUpdated(id: "${id}") { agent { batchCalls(first: 100, filter: { status: [FAILED] }) { edges { node { recipients { totalCount } } } } } } }`;
    const response = await fetch(`${stack.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query }),
      signal: AbortSignal.timeout(5_000),
    });
    // The refusal is the stream's only event: read it to its end.
    const text = await response.text();
    expect(text).toContain('This operation would need up to 110 upstream calls; the limit is 50');
    expect(text).toContain('"code":"QUERY_TOO_COMPLEX"');
    expect(text).toContain('event: complete');
    expect(stack.calls()).toEqual([]);
  });

  it('agrees with the estimate: actual calls never exceed it', async () => {
    const agentId = stack.simulator.store.agents()[0]?.id ?? '';
    const [a = ''] = ids(stack, 1);
    const cases: Array<{ query: string; variables?: Record<string, unknown> }> = [
      { query: '{ batchCalls(first: 20, filter: { status: [CANCELLED] }) { edges { node { name } } scan { pagesRead } } }' },
      { query: `{ batchCalls(first: 5, filter: { nameContains: "a" }) { ${RECIPIENTS} } }` },
      { query: `{ batchCalls(first: 3, agentId: "${agentId}", filter: { status: [COMPLETED] }) { ${RECIPIENTS} } }` },
      { query: '{ batchCalls(first: 4) { edges { node { agent { batchCalls(first: 2) { edges { node { recipients { totalCount } } } } } } } } }' },
      { query: '{ batchCalls(first: 3) { edges { node { agent { batchCalls(first: 2, filter: { status: [FAILED] }) { edges { cursor } } } } } } }' },
      { query: `{ batchCall(id: "${a}") { recipients { totalCount } agent { batchCalls(first: 3) { ${RECIPIENTS} } } } }` },
      { query: 'query($id: ID!) { node(id: $id) { ... on Agent { batchCalls(first: 2, filter: { nameContains: "e" }) { edges { cursor } } } } }', variables: { id: gid('Agent', agentId) } },
    ];
    for (const { query, variables } of cases) {
      stack.resetCalls();
      const estimate = estimateUpstreamCalls(parse(query), null, variables ?? null, BUDGETS);
      const response = await stack.gql(query, variables);
      expect(response.status, query).toBe(200);
      expect(response.body.errors, query).toBeUndefined();
      expect(stack.calls().length, query).toBeGreaterThan(0);
      expect(stack.calls().length, query).toBeLessThanOrEqual(estimate);
    }
  });
});

describe('a normal dashboard query', () => {
  it('the GraphiQL default query passes every limit and costs one list call and 5 detail calls', async () => {
    const response = await stack.gql<{ batchCalls: { edges: Array<{ node: { recipients: { totalCount: number; edges: unknown[] } } }>; pageInfo: { hasNextPage: boolean } } }>(
      GRAPHIQL_DEFAULT_QUERY,
    );
    expectServed(response);
    const edges = response.body.data?.batchCalls.edges ?? [];
    expect(edges).toHaveLength(5);
    for (const edge of edges) expect(edge.node.recipients.edges.length).toBeLessThanOrEqual(3);
    expect(response.body.data?.batchCalls.pageInfo.hasNextPage).toBe(true);
    expect(stack.calls('list')).toHaveLength(1);
    expect(stack.calls('detail')).toHaveLength(5);
  });

  it('also passes at its largest page that fits the fan-out limit (first: 49)', async () => {
    const response = await stack.gql(GRAPHIQL_DEFAULT_QUERY, { first: 49 });
    expectServed(response);
    expect(stack.calls()).toHaveLength(50);
  });
});
