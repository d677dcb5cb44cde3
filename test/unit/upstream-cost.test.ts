import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { GRAPHIQL_DEFAULT_QUERY } from '../../src/app.js';
import { encodeBatchCursor, encodeFilteredBatchCursor } from '../../src/pagination/cursors.js';
import { estimateUpstreamCalls } from '../../src/security/upstream-cost.js';

/** The defaults of FILTER_PAGE_BUDGET and SUMMARY_PAGE_BUDGET. */
const BUDGETS = { filterPageBudget: 10, summaryPageBudget: 20 } as const;

const estimate = (query: string, variables?: Record<string, unknown> | null, operationName?: string | null): number =>
  estimateUpstreamCalls(parse(query), operationName, variables, BUDGETS);

const RECIPIENTS = 'edges { node { recipients { totalCount } } }';

describe('estimateUpstreamCalls: batchCalls', () => {
  it('is one list call when no recipients are selected, whatever `first`', () => {
    expect(estimate('{ batchCalls { edges { node { name } } } }')).toBe(1);
    expect(estimate('{ batchCalls(first: 100) { edges { cursor node { id name whatsappParams { whatsappPhoneNumberId } } } pageInfo { hasNextPage } } }')).toBe(1);
    expect(estimate('{ batchCalls(first: 5, after: "x", agentId: "agent_1") { pageInfo { endCursor } } }')).toBe(1);
  });

  it('adds one detail call per batch of the page when recipients are selected', () => {
    expect(estimate(`{ batchCalls(first: 1) { ${RECIPIENTS} } }`)).toBe(2);
    expect(estimate(`{ batchCalls(first: 49) { ${RECIPIENTS} } }`)).toBe(50);
    expect(estimate(`{ batchCalls(first: 100) { ${RECIPIENTS} } }`)).toBe(101);
  });

  it('uses the default page size of 20 when `first` is absent or null', () => {
    expect(estimate(`{ batchCalls { ${RECIPIENTS} } }`)).toBe(21);
    expect(estimate(`{ batchCalls(first: null) { ${RECIPIENTS} } }`)).toBe(21);
    expect(estimate(`query($n: Int) { batchCalls(first: $n) { ${RECIPIENTS} } }`, {})).toBe(21);
    expect(estimate(`query($n: Int) { batchCalls(first: $n) { ${RECIPIENTS} } }`, { n: null })).toBe(21);
    expect(estimate(`query($n: Int) { batchCalls(first: $n) { ${RECIPIENTS} } }`, null)).toBe(21);
  });

  it('counts a `first` above the maximum, or one that is not an integer, as the maximum of 100', () => {
    expect(estimate(`{ batchCalls(first: 101) { ${RECIPIENTS} } }`)).toBe(101);
    expect(estimate(`{ batchCalls(first: 1000000) { ${RECIPIENTS} } }`)).toBe(101);
    expect(estimate(`query($n: Int) { batchCalls(first: $n) { ${RECIPIENTS} } }`, { n: 5_000 })).toBe(101);
    // Raw variables are not coerced yet: anything that is not an integer is counted at the maximum.
    for (const n of [2.5, '7', 'many', true, [3], { n: 3 }, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(estimate(`query($n: Int) { batchCalls(first: $n) { ${RECIPIENTS} } }`, { n })).toBe(101);
    }
    expect(estimate(`{ batchCalls(first: 2.5) { ${RECIPIENTS} } }`)).toBe(101);
    expect(estimate(`{ batchCalls(first: "7") { ${RECIPIENTS} } }`)).toBe(101);
  });

  it('counts no detail calls for a `first` below 1 (the resolver refuses it before any call)', () => {
    expect(estimate(`{ batchCalls(first: 0) { ${RECIPIENTS} } }`)).toBe(1);
    expect(estimate(`{ batchCalls(first: -5) { ${RECIPIENTS} } }`)).toBe(1);
  });

  it('takes `first` from the variables', () => {
    const query = `query($first: Int) { batchCalls(first: $first) { ${RECIPIENTS} } }`;
    expect(estimate(query, { first: 1 })).toBe(2);
    expect(estimate(query, { first: 30 })).toBe(31);
    expect(estimate(query, { first: 49 })).toBe(50);
    expect(estimate(query, { first: 100 })).toBe(101);
  });

  it('finds recipients at any depth below the connection, through fragments and inline fragments', () => {
    expect(estimate(`{ batchCalls(first: 7) { ...C } }
      fragment C on BatchCallConnection { edges { ...E } }
      fragment E on BatchCallEdge { node { ...N } }
      fragment N on BatchCall { recipients(first: 1) { totalCount } }`)).toBe(8);
    expect(estimate('{ batchCalls(first: 7) { edges { node { ... on BatchCall { recipients { totalCount } } } } } }')).toBe(8);
    expect(estimate('{ batchCalls(first: 7) { ... { edges { ... on BatchCallEdge { node { ... @include(if: true) { recipients { pageInfo { hasNextPage } } } } } } } } }')).toBe(8);
    // Recipients selected only for its cursor info, or with an alias, still needs the batch detail.
    expect(estimate('{ batchCalls(first: 7) { edges { node { r: recipients(first: 1, status: [COMPLETED]) { edges { cursor } } } } } }')).toBe(8);
    // Fields that merely look alike do not count.
    expect(estimate('{ batchCalls(first: 7) { edges { node { recipientsCount: totalCallsScheduled } } } }')).toBe(1);
  });

  it('counts each batchCalls field separately (identical or not)', () => {
    expect(estimate(`{ a: batchCalls(first: 10) { ${RECIPIENTS} } b: batchCalls(first: 5) { edges { cursor } } }`)).toBe(12);
    expect(estimate(`{ a: batchCalls(first: 10) { ${RECIPIENTS} } b: batchCalls(first: 10) { ${RECIPIENTS} } }`)).toBe(22);
  });
});

describe('estimateUpstreamCalls: batchCall, node and nodes', () => {
  it('counts one detail call per distinct id', () => {
    expect(estimate('{ batchCall(id: "a") { name } }')).toBe(1);
    expect(estimate('{ x: batchCall(id: "a") { name } y: batchCall(id: "b") { name } z: batchCall(id: "a") { recipients { totalCount } } }')).toBe(2);
    expect(estimate('{ node(id: "a") { id } batchCall(id: "a") { name } }')).toBe(1);
    expect(estimate('{ node(id: "a") { id } other: node(id: "b") { id } }')).toBe(2);
  });

  it('does not charge more for recipients below a single batch (the detail has them all)', () => {
    expect(estimate('{ batchCall(id: "a") { recipients(first: 100) { totalCount edges { node { status } } } } }')).toBe(1);
  });

  it('counts each distinct id of nodes(ids), shared with the other fields', () => {
    expect(estimate('{ nodes(ids: ["a", "b", "a", "c"]) { id } }')).toBe(3);
    expect(estimate('{ nodes(ids: ["a", "b"]) { id } batchCall(id: "b") { name } node(id: "c") { id } }')).toBe(3);
    // A single value where a list is expected is a list of one (input coercion).
    expect(estimate('{ nodes(ids: "a") { id } }')).toBe(1);
    expect(estimate('{ nodes(ids: []) { id } }')).toBe(0);
  });

  it('takes ids from the variables', () => {
    expect(estimate('query($id: ID!) { batchCall(id: $id) { name } }', { id: 'a' })).toBe(1);
    expect(estimate('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: ['a', 'b', 'c', 'b'] })).toBe(3);
    expect(estimate('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: Array.from({ length: 60 }, (_, i) => `id${i}`) })).toBe(60);
    expect(estimate('query($a: ID!, $b: ID!) { x: batchCall(id: $a) { name } y: batchCall(id: $b) { name } }', { a: 'same', b: 'same' })).toBe(1);
    expect(estimate('query($a: ID!, $ids: [ID!]!) { batchCall(id: $a) { name } nodes(ids: $ids) { id } }', { a: 'k', ids: ['k', 'j'] })).toBe(2);
  });

  it('adds detail calls to list calls', () => {
    expect(estimate(`{ batchCall(id: "a") { name } batchCalls(first: 3) { ${RECIPIENTS} } nodes(ids: ["b", "c"]) { id } }`)).toBe(1 + 4 + 2);
  });
});

describe('estimateUpstreamCalls: document structure', () => {
  it('flattens top-level named and inline fragments', () => {
    expect(estimate('{ ...Q } fragment Q on Query { batchCall(id: "a") { name } batchCalls(first: 2) { edges { node { recipients { totalCount } } } } }')).toBe(4);
    expect(estimate('{ ... on Query { batchCall(id: "a") { name } } ... { node(id: "b") { id } } }')).toBe(2);
    expect(estimate('{ ...Q } fragment Q on Query { ...R } fragment R on Query { nodes(ids: ["a", "b"]) { id } }')).toBe(2);
  });

  it('counts a fragment spread twice at the same level once', () => {
    const fragment = `fragment Q on Query { batchCalls(first: 9) { ${RECIPIENTS} } }`;
    expect(estimate(`{ ...Q } ${fragment}`)).toBe(10);
    expect(estimate(`{ ...Q ...Q } ${fragment}`)).toBe(10);
    expect(estimate(`{ ...Q ... on Query { ...Q } } ${fragment}`)).toBe(10);
  });

  it('ignores a spread of an unknown fragment', () => {
    expect(estimate('{ ...Missing batchCall(id: "a") { name } }')).toBe(1);
  });

  it('chooses the operation by operationName', () => {
    const document = `
      query One { batchCall(id: "a") { name } }
      query Many { batchCalls(first: 30) { ${RECIPIENTS} } }
      mutation Change { batchCalls(first: 100) { ${RECIPIENTS} } }`;
    expect(estimate(document, {}, 'One')).toBe(1);
    expect(estimate(document, {}, 'Many')).toBe(31);
    // No such operation, or no name among several: nothing will run.
    expect(estimate(document, {}, 'Nope')).toBe(0);
    expect(estimate(document, {}, null)).toBe(0);
    expect(estimate(document, {}, undefined)).toBe(0);
    expect(estimate(document, {}, '')).toBe(0);
    // A single operation is chosen without a name, named or anonymous.
    expect(estimate(`query Only { batchCalls(first: 3) { ${RECIPIENTS} } }`, {}, null)).toBe(4);
    expect(estimate(`query Only { batchCalls(first: 3) { ${RECIPIENTS} } }`, {}, 'Only')).toBe(4);
    expect(estimate(`query Only { batchCalls(first: 3) { ${RECIPIENTS} } }`, {}, 'Other')).toBe(0);
  });

  it('counts nothing for mutations (the schema has none) nor for subscription fields other than batchCallUpdated', () => {
    expect(estimate(`mutation { batchCalls(first: 100) { ${RECIPIENTS} } batchCall(id: "a") { name } }`)).toBe(0);
    expect(estimate(`subscription { batchCalls(first: 100) { ${RECIPIENTS} } }`)).toBe(0);
    expect(estimate(`subscription S { batchCall(id: "x") { name } } query Q { batchCall(id: "y") { name } }`, {}, 'S')).toBe(0);
  });

  it('counts nothing for a document with no operation', () => {
    expect(estimate('fragment F on Query { batchCall(id: "a") { name } }')).toBe(0);
  });

  it('ends on cyclic fragment spreads (validation refuses them, but the estimate must not hang)', () => {
    // Top level: A -> B -> A.
    expect(estimate(`{ ...A }
      fragment A on Query { batchCall(id: "a") { name } ...B }
      fragment B on Query { batchCall(id: "b") { name } ...A }`)).toBe(2);
    // A fragment that spreads itself, at the top level and inside a connection.
    expect(estimate('{ ...S } fragment S on Query { ...S node(id: "n") { id } }')).toBe(1);
    expect(estimate('{ batchCalls(first: 4) { ...C } } fragment C on BatchCallConnection { ...C edges { cursor } }')).toBe(1);
    expect(estimate(`{ batchCalls(first: 4) { ...C } } fragment C on BatchCallConnection { ...D } fragment D on BatchCallConnection { ...C ${RECIPIENTS} }`)).toBe(5);
    // A cycle through a field: spread again one level down, on and on.
    expect(estimate('{ batchCalls(first: 4) { ...N } } fragment N on BatchCallConnection { edges { ...N } }')).toBe(1);
    expect(estimate('{ batchCalls(first: 4) { ...N } } fragment N on BatchCallConnection { edges { ...N } recipients { totalCount } }')).toBe(5);
  });
});

describe('estimateUpstreamCalls: the GraphiQL default query', () => {
  it('stays well within the default limit of 50', () => {
    const calls = estimate(GRAPHIQL_DEFAULT_QUERY, {});
    expect(calls).toBeGreaterThanOrEqual(1 + 5); // one list call + a detail per batch of its page of 5
    expect(calls).toBeLessThanOrEqual(50);
    expect(estimate(GRAPHIQL_DEFAULT_QUERY, { first: 5, after: null })).toBe(6);
  });
});

describe('estimateUpstreamCalls: regressions', () => {
  it('takes variable defaults into account', () => {
    const document = parse('query($first: Int = 60) { batchCalls(first: $first) { edges { node { recipients { totalCount } } } } }');
    expect(estimateUpstreamCalls(document, null, {}, BUDGETS)).toBe(61);
    expect(estimateUpstreamCalls(document, null, { first: 5 }, BUDGETS)).toBe(6);
  });

  it('ends at once on a branching fragment cycle (validation refuses it, the estimator must not hang)', () => {
    const started = performance.now();
    const document = parse('{ batchCalls { ...N } } fragment N on X { a { ...N } b { ...N } c { ...N } }');
    expect(estimateUpstreamCalls(document, null, null, BUDGETS)).toBe(1);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('counts two list calls when the cursor position plus first runs past an upstream page', () => {
    const query = 'query($after: String, $first: Int) { batchCalls(first: $first, after: $after) { edges { cursor } } }';
    const at = (skip: number): string => encodeBatchCursor({ lastDoc: 'doc', skip, agentId: null });
    expect(estimateUpstreamCalls(parse(query), null, { after: at(60), first: 40 }, BUDGETS)).toBe(1);
    expect(estimateUpstreamCalls(parse(query), null, { after: at(60), first: 41 }, BUDGETS)).toBe(2);
    expect(estimateUpstreamCalls(parse(query), null, { after: 'garbage', first: 41 }, BUDGETS)).toBe(1);
  });
});

const gid = (type: string, id: string): string => Buffer.from(`${type}:${id}`, 'utf8').toString('base64url');
const FILTER = 'filter: { status: [FAILED] }';

describe('estimateUpstreamCalls: filtered lists', () => {
  it('counts a filtered list as FILTER_PAGE_BUDGET list calls, whatever `first` or `after`', () => {
    expect(estimate(`{ batchCalls(${FILTER}) { edges { node { name } } } }`)).toBe(10);
    expect(estimate(`{ batchCalls(first: 100, ${FILTER}) { edges { cursor } pageInfo { endCursor } scan { pagesRead } } }`)).toBe(10);
    const after = encodeFilteredBatchCursor({ lastDoc: 'doc', skip: 99, fingerprint: 'f'.repeat(22) });
    expect(estimate(`query($after: String) { batchCalls(first: 100, after: $after, ${FILTER}) { edges { cursor } } }`, { after })).toBe(10);
  });

  it('adds one detail call per match wanted when recipients or recipientStats are selected', () => {
    expect(estimate(`{ batchCalls(first: 5, ${FILTER}) { ${RECIPIENTS} } }`)).toBe(15);
    expect(estimate(`{ batchCalls(first: 5, ${FILTER}) { edges { node { recipientStats { total } } } } }`)).toBe(15);
    // Both on the same batch share its detail.
    expect(estimate(`{ batchCalls(first: 5, ${FILTER}) { edges { node { recipientStats { total } recipients { totalCount } again: recipients(first: 2) { totalCount } } } } }`)).toBe(15);
  });

  it('takes the budget from its argument (FILTER_PAGE_BUDGET)', () => {
    const query = parse(`{ batchCalls(first: 5, ${FILTER}) { ${RECIPIENTS} } }`);
    expect(estimateUpstreamCalls(query, null, null, { filterPageBudget: 2, summaryPageBudget: 20 })).toBe(7);
    expect(estimateUpstreamCalls(query, null, null, { filterPageBudget: 100, summaryPageBudget: 20 })).toBe(105);
  });

  it('counts a filter that sets no criterion as no filter, as the resolver does', () => {
    const query = `query($f: BatchCallFilter) { batchCalls(first: 5, filter: $f) { ${RECIPIENTS} } }`;
    expect(estimate(query, {})).toBe(6);
    expect(estimate(query, { f: null })).toBe(6);
    expect(estimate(query, { f: {} })).toBe(6);
    expect(estimate(query, { f: { status: null, nameContains: null } })).toBe(6);
    expect(estimate(`{ batchCalls(first: 5, filter: {}) { ${RECIPIENTS} } }`)).toBe(6);
    expect(estimate(`query($s: [BatchCallStatus!]) { batchCalls(first: 5, filter: { status: $s }) { ${RECIPIENTS} } }`, {})).toBe(6);
    // Any criterion (even one the resolver will refuse) is a scan.
    expect(estimate(query, { f: { nameContains: 'x' } })).toBe(15);
    expect(estimate(query, { f: { status: [] } })).toBe(15);
    expect(estimate(query, { f: 'nonsense' })).toBe(15);
  });
});

describe('estimateUpstreamCalls: nested fields', () => {
  it('charges nothing for BatchCall.agent itself (the batch carries its agent)', () => {
    expect(estimate('{ batchCalls(first: 50) { edges { node { agent { id agentId name } } } } }')).toBe(1);
    expect(estimate('{ batchCall(id: "a") { agent { name } } }')).toBe(1);
  });

  it('multiplies an agent\'s list by the batches it can run under', () => {
    const inner = 'agent { batchCalls(first: 3) { edges { node { recipients { totalCount } } } } }';
    // 1 list + 5 batches x (1 list + 3 details).
    expect(estimate(`{ batchCalls(first: 5) { edges { node { ${inner} } } } }`)).toBe(1 + 5 * (1 + 3));
    // The outer details and the inner lists add up per batch.
    expect(estimate(`{ batchCalls(first: 5) { edges { node { recipients { totalCount } ${inner} } } } }`)).toBe(1 + 5 * (1 + 1 + 3));
    // Filtered inside: FILTER_PAGE_BUDGET list calls per outer batch.
    expect(estimate(`{ batchCalls(first: 5) { edges { node { agent { batchCalls(first: 3, ${FILTER}) { edges { cursor } } } } } } }`)).toBe(1 + 5 * 10);
    // Three levels deep.
    const deep = '{ batchCalls(first: 100) { edges { node { agent { batchCalls(first: 100) { edges { node { agent { batchCalls(first: 100) { edges { cursor } } } } } } } } } } }';
    expect(estimate(deep)).toBe(1 + 100 * (1 + 100 * 1));
  });

  it('does not let a detail needed inside an agent\'s list leak to the outer batches', () => {
    // Only the inner batches need details: 1 + 2 x (1 + 4).
    expect(estimate('{ batchCalls(first: 2) { edges { node { agent { batchCalls(first: 4) { edges { node { recipients { totalCount } } } } } } } } }')).toBe(11);
  });

  it('counts the fields below a single batch once, and its recipients as free', () => {
    expect(estimate('{ batchCall(id: "a") { recipients { totalCount } agent { batchCalls(first: 4) { edges { node { recipientStats { total } } } } } } }')).toBe(1 + 1 + 4);
  });

  it('follows fragments into nested lists', () => {
    expect(estimate(`{ batchCalls(first: 3) { ...Page } }
      fragment Page on BatchCallConnection { edges { node { ...Batch } } }
      fragment Batch on BatchCall { agent { ...Agent } }
      fragment Agent on Agent { batchCalls(first: 2) { ...Details } }
      fragment Details on BatchCallConnection { edges { node { recipients { totalCount } } } }`)).toBe(1 + 3 * (1 + 2));
    // The same fragment at two depths is counted at each.
    expect(estimate(`{ batchCalls(first: 3) { edges { node { ...A agent { batchCalls(first: 2) { edges { node { ...A } } } } } } } }
      fragment A on BatchCall { recipients { totalCount } }`)).toBe(1 + 3 * (1 + 1 + 2));
  });
});

describe('estimateUpstreamCalls: Agent global IDs in node and nodes', () => {
  it('counts one list call per distinct agent, plus what is selected below it', () => {
    const a = gid('Agent', 'agent_a');
    const b = gid('Agent', 'agent_b');
    expect(estimate(`{ node(id: "${a}") { id ... on Agent { name } } }`)).toBe(1);
    expect(estimate(`{ node(id: "${a}") { ... on Agent { batchCalls(first: 2) { ${RECIPIENTS} } } } }`)).toBe(1 + 1 + 2);
    expect(estimate(`{ nodes(ids: ["${a}", "${b}", "${a}"]) { ... on Agent { batchCalls(first: 2) { ${RECIPIENTS} } } } }`)).toBe(2 + 2 * 3);
    expect(estimate(`{ x: node(id: "${a}") { id } y: nodes(ids: ["${a}", "${gid('BatchCall', 'b1')}"]) { id } }`)).toBe(2);
  });
});

describe('estimateUpstreamCalls: batchCallsSummary', () => {
  it('counts SUMMARY_PAGE_BUDGET list calls', () => {
    expect(estimate('{ batchCallsSummary { batchCount byStatus { status count } agents { agent { name } batchCount } } }')).toBe(20);
    expect(estimateUpstreamCalls(parse('{ batchCallsSummary(agentId: "a") { batchCount } }'), null, null, { filterPageBudget: 10, summaryPageBudget: 3 })).toBe(3);
    expect(estimate(`{ batchCallsSummary { batchCount } batchCalls(first: 2) { ${RECIPIENTS} } }`)).toBe(20 + 3);
  });

  it('multiplies a list below its agents by the most agents it can list (one per batch read)', () => {
    expect(estimate('{ batchCallsSummary { agents { agent { batchCalls(first: 1) { edges { cursor } } } } } }')).toBe(20 + 20 * 100 * 1);
  });
});

describe('estimateUpstreamCalls: subscription batchCallUpdated', () => {
  it('counts nothing for the shared poll, nor for recipients (the event is a detail)', () => {
    expect(estimate('subscription { batchCallUpdated(id: "a") { status recipients { totalCount } recipientStats { total } agent { name } } }')).toBe(0);
  });

  it('counts what the fields below cost for each event', () => {
    expect(estimate(`subscription { batchCallUpdated(id: "a") { agent { batchCalls(first: 5, ${FILTER}) { ${RECIPIENTS} } } } }`)).toBe(10 + 5);
    expect(estimate('subscription S { batchCallUpdated(id: "a") { agent { batchCalls(first: 5) { edges { cursor } } } } }', {}, 'S')).toBe(1);
  });
});
