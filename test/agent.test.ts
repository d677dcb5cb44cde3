import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/simulator/clock.js';
import { codes, startStack, type Stack } from './helpers/stack.js';

/**
 * The Agent type over real HTTP: reached from a batch at no cost, loaded by global ID with one
 * list call, and its own `batchCalls` (filtered or not) equal to the simulator's batches of that
 * agent, walked in upstream order.
 */

const NOW = Date.UTC(2025, 5, 2, 9, 30, 0);
const DAY = 86_400_000;
const gid = (type: string, id: string): string => Buffer.from(`${type}:${id}`, 'utf8').toString('base64url');

interface Agent {
  __typename?: string;
  id: string;
  agentId: string;
  name: string;
}
interface Connection {
  edges: Array<{ cursor: string; node: { batchId: string; agentId: string } }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  scan: { pagesRead: number; stoppedEarly: boolean };
}

let stack: Stack;
let agents: Array<{ id: string; name: string }>;

beforeAll(async () => {
  stack = await startStack({ clock: new ManualClock(NOW) });
  const { store } = stack.simulator;
  agents = store.agents();
  // Enough batches for one agent to span two upstream pages.
  for (let i = 0; i < 120; i++) {
    store.addBatch({
      id: `btcal_agent_${i}`,
      agentId: agents[0]?.id,
      name: i % 4 === 0 ? `Rappel Région ${i}` : `Relance ${i}`,
      status: i % 5 === 0 ? 'failed' : 'completed',
      recipients: 1,
      createdAtUnix: Math.floor((NOW - 3_600_000 - i * 50_000_000) / 1000),
    });
  }
  expect(store.batchIds(agents[0]?.id).length).toBeGreaterThan(100);
});
afterAll(async () => {
  await stack.close();
});
beforeEach(() => stack.resetCalls());

const FIRST_AGENT = (): { id: string; name: string } => {
  const agent = agents[0];
  if (agent === undefined) throw new Error('the simulator has no agent');
  return agent;
};

describe('BatchCall.agent', () => {
  it('comes from the batch itself: no upstream call beyond the list', async () => {
    const response = await stack.gql<{ batchCalls: { edges: Array<{ node: { agentId: string; agentName: string; agent: Agent } }> } }>(
      '{ batchCalls(first: 40) { edges { node { agentId agentName agent { id agentId name } } } } }',
    );
    expect(response.body.errors).toBeUndefined();
    const edges = response.body.data?.batchCalls.edges ?? [];
    expect(edges).toHaveLength(40);
    for (const { node } of edges) {
      expect(node.agent).toEqual({ id: gid('Agent', node.agentId), agentId: node.agentId, name: node.agentName });
      expect(agents.find((a) => a.id === node.agentId)?.name).toBe(node.agentName);
    }
    expect(stack.calls('list')).toHaveLength(1);
    expect(stack.calls('detail')).toHaveLength(0);
  });

  it('on a single batch costs only its detail', async () => {
    const [batchId = ''] = stack.simulator.store.batchIds();
    const response = await stack.gql<{ batchCall: { agent: Agent } }>(`{ batchCall(id: "${batchId}") { agent { agentId name } } }`);
    expect(response.body.data?.batchCall.agent.agentId).toBe(stack.simulator.store.getBatch(batchId)?.agent_id);
    expect(stack.calls()).toHaveLength(1);
    expect(stack.calls('detail')).toHaveLength(1);
  });
});

describe('Agent by global ID', () => {
  const NODE = 'query($id: ID!) { node(id: $id) { __typename id ... on Agent { agentId name } } }';

  it('loads with one list call (limit=1&agent_id=...) and round-trips its id', async () => {
    const agent = FIRST_AGENT();
    const response = await stack.gql<{ node: Agent | null }>(NODE, { id: gid('Agent', agent.id) });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.node).toEqual({ __typename: 'Agent', id: gid('Agent', agent.id), agentId: agent.id, name: agent.name });
    const calls = stack.calls();
    expect(calls).toHaveLength(1);
    const url = new URL(calls[0]?.url ?? '', 'http://x');
    expect(calls[0]?.route).toBe('list');
    expect(url.searchParams.get('limit')).toBe('1');
    expect(url.searchParams.get('agent_id')).toBe(agent.id);
  });

  it('loads several agents and batches together with nodes(ids)', async () => {
    const [a, b] = agents;
    const [batchId = ''] = stack.simulator.store.batchIds();
    const response = await stack.gql<{ nodes: Array<Agent | { __typename: string; batchId: string } | null> }>(
      'query($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on Agent { agentId name } ... on BatchCall { batchId } } }',
      { ids: [gid('Agent', a?.id ?? ''), gid('BatchCall', batchId), gid('Agent', b?.id ?? ''), gid('Agent', a?.id ?? '')] },
    );
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.nodes).toEqual([
      { __typename: 'Agent', agentId: a?.id, name: a?.name },
      { __typename: 'BatchCall', batchId },
      { __typename: 'Agent', agentId: b?.id, name: b?.name },
      { __typename: 'Agent', agentId: a?.id, name: a?.name },
    ]);
    expect(stack.calls('list')).toHaveLength(2); // one per distinct agent
    expect(stack.calls('detail')).toHaveLength(1);
  });

  it('is null with NOT_FOUND for an agent with no batch call', async () => {
    const response = await stack.gql<{ node: Agent | null }>(NODE, { id: gid('Agent', 'agent_nobody_here') });
    expect(response.body.data?.node).toBeNull();
    expect(codes(response)).toEqual(['NOT_FOUND']);
    expect(response.body.errors?.[0]?.message).toMatch(/agent_nobody_here has no batch calls/);
    expect(stack.calls('list')).toHaveLength(1);
  });

  it('refuses an Agent ID whose agent id could not be an upstream id, with no upstream call', async () => {
    const response = await stack.gql<{ node: Agent | null }>(NODE, { id: gid('Agent', '../workspace?x=1') });
    expect(response.body.data?.node).toBeNull();
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(stack.calls()).toEqual([]);
  });

  it('is not a BatchCall id', async () => {
    const response = await stack.gql(`{ batchCall(id: "${gid('Agent', FIRST_AGENT().id)}") { name } }`);
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.body.errors?.[0]?.message).toBe('`id` is the global ID of an Agent, not of a BatchCall');
    expect(stack.calls()).toEqual([]);
  });
});

describe('Agent.batchCalls', () => {
  const LIST = `query($id: ID!, $first: Int, $after: String, $filter: BatchCallFilter) {
    node(id: $id) { ... on Agent { batchCalls(first: $first, after: $after, filter: $filter) {
      edges { cursor node { batchId agentId } } pageInfo { hasNextPage endCursor } scan { pagesRead stoppedEarly }
    } } }
  }`;

  async function agentPage(agentId: string, variables: Record<string, unknown>): Promise<{ connection: Connection; listCalls: number }> {
    stack.resetCalls();
    const response = await stack.gql<{ node: { batchCalls: Connection } | null }>(LIST, { id: gid('Agent', agentId), ...variables });
    expect(response.body.errors, JSON.stringify(response.body.errors)).toBeUndefined();
    const connection = response.body.data?.node?.batchCalls;
    if (connection === undefined) throw new Error('no data');
    return { connection, listCalls: stack.calls('list').length };
  }

  async function walk(agentId: string, first: number, filter?: Record<string, unknown>): Promise<string[]> {
    const ids: string[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 100; guard++) {
      const { connection, listCalls } = await agentPage(agentId, { first, after, filter });
      // The agent's own list call (limit=1), plus the pages the connection says it read.
      expect(listCalls).toBe(1 + connection.scan.pagesRead);
      ids.push(...connection.edges.map((e) => e.node.batchId));
      for (const edge of connection.edges) expect(edge.node.agentId).toBe(agentId);
      if (!connection.pageInfo.hasNextPage) return ids;
      after = connection.pageInfo.endCursor;
    }
    throw new Error('the walk did not end');
  }

  it.each([25, 100])('equals the simulator\'s batches of each agent, in order (first=%i)', async (first) => {
    for (const agent of agents) {
      const expected = stack.simulator.store.batchIds(agent.id);
      expect(expected.length).toBeGreaterThan(0);
      expect(await walk(agent.id, first)).toEqual(expected);
    }
  });

  it('filters the agent\'s batches in the gateway: status and name, every match once', async () => {
    const { store } = stack.simulator;
    const agent = FIRST_AGENT();
    const filter = { status: ['FAILED', 'COMPLETED'], nameContains: 'RÉGION', createdAfter: new Date(NOW - 60 * DAY).toISOString() };
    const expected = store.batchIds(agent.id).filter((id) => {
      const batch = store.getBatch(id);
      return batch !== undefined && ['failed', 'completed'].includes(batch.status) &&
        batch.name.toUpperCase().includes('RÉGION') && batch.created_at_unix * 1000 >= NOW - 60 * DAY;
    });
    expect(expected.length).toBeGreaterThanOrEqual(10);
    expect(await walk(agent.id, 4, filter)).toEqual(expected);
    // Only this agent's pages were read.
    for (const call of stack.calls('list')) expect(new URL(call.url, 'http://x').searchParams.get('agent_id')).toBe(agent.id);
  });

  it('shares cursors with Query.batchCalls(agentId:) for the same filter, and refuses another agent\'s', async () => {
    const [a, b] = agents;
    const filter = { status: ['COMPLETED'] };
    stack.resetCalls();
    const viaQuery = await stack.gql<{ batchCalls: Connection }>(
      'query($agentId: String, $filter: BatchCallFilter) { batchCalls(first: 3, agentId: $agentId, filter: $filter) { edges { cursor node { batchId agentId } } pageInfo { hasNextPage endCursor } scan { pagesRead stoppedEarly } } }',
      { agentId: a?.id, filter },
    );
    const cursor = viaQuery.body.data?.batchCalls.pageInfo.endCursor;
    const { connection } = await agentPage(a?.id ?? '', { first: 3, after: cursor, filter });
    const expected = stack.simulator.store.batchIds(a?.id).filter((id) => stack.simulator.store.getBatch(id)?.status === 'completed');
    expect([...(viaQuery.body.data?.batchCalls.edges ?? []), ...connection.edges].map((e) => e.node.batchId)).toEqual(expected.slice(0, 6));

    stack.resetCalls();
    const other = await stack.gql(LIST, { id: gid('Agent', b?.id ?? ''), first: 3, after: cursor, filter });
    expect(codes(other)).toContain('BAD_USER_INPUT');
    expect(stack.calls('list').length).toBeLessThanOrEqual(1); // at most the agent's own load
  });

  it('is reached from a batch: batchCall { agent { batchCalls } } lists that agent\'s batches', async () => {
    const agent = FIRST_AGENT();
    const [batchId = ''] = stack.simulator.store.batchIds(agent.id);
    const response = await stack.gql<{ batchCall: { agent: { batchCalls: Connection } } }>(
      `{ batchCall(id: "${batchId}") { agent { batchCalls(first: 5) { edges { cursor node { batchId agentId } } pageInfo { hasNextPage endCursor } scan { pagesRead stoppedEarly } } } } }`,
    );
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.batchCall.agent.batchCalls.edges.map((e) => e.node.batchId)).toEqual(
      stack.simulator.store.batchIds(agent.id).slice(0, 5),
    );
    expect(stack.calls('detail')).toHaveLength(1);
    expect(stack.calls('list')).toHaveLength(1);
  });
});
