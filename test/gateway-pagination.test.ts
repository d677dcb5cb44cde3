import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startStack, type Stack } from './helpers/stack.js';

interface Page {
  batchCalls: {
    edges: Array<{ cursor: string; node: { batchId: string } }>;
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  };
}

const PAGE = `query Page($first: Int, $after: String, $agentId: String) {
  batchCalls(first: $first, after: $after, agentId: $agentId) {
    edges { cursor node { batchId } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

async function page(first: number, after?: string | null, agentId?: string): Promise<Page['batchCalls']> {
  const response = await stack.gql<Page>(PAGE, { first, after, agentId });
  expect(response.body.errors).toBeUndefined();
  const connection = response.body.data?.batchCalls;
  if (connection === undefined) throw new Error('no data');
  return connection;
}

/** Walks by endCursor; returns the ids and the upstream list calls each page cost. */
async function walk(first: number, agentId?: string): Promise<{ ids: string[]; listCallsPerPage: number[] }> {
  const ids: string[] = [];
  const listCallsPerPage: number[] = [];
  let after: string | null = null;
  for (let guard = 0; guard < 1000; guard++) {
    stack.resetCalls();
    const connection = await page(first, after, agentId);
    listCallsPerPage.push(stack.calls('list').length);
    expect(stack.calls('detail')).toHaveLength(0);
    ids.push(...connection.edges.map((e) => e.node.batchId));
    if (!connection.pageInfo.hasNextPage) return { ids, listCallsPerPage };
    after = connection.pageInfo.endCursor;
  }
  throw new Error('pagination did not end');
}

describe('batchCalls pagination over last_doc', () => {
  it.each([20, 100, 7])('walks every batch once in upstream order with one list call per page (first=%i)', async (first) => {
    const expected = stack.simulator.store.batchIds();
    expect(expected.length).toBeGreaterThan(100); // more than one upstream page
    const { ids, listCallsPerPage } = await walk(first);
    expect(ids).toEqual(expected);
    expect(listCallsPerPage.every((n) => n === 1)).toBe(true);
    expect(listCallsPerPage).toHaveLength(Math.ceil(expected.length / first));
  });

  it('walks one agent by agentId, forwarding agent_id upstream', async () => {
    const agent = stack.simulator.store.agents()[1];
    if (agent === undefined) throw new Error('no agent');
    const expected = stack.simulator.store.batchIds(agent.id);
    const { ids } = await walk(10, agent.id);
    expect(ids).toEqual(expected);
    stack.resetCalls();
    await page(1, null, agent.id);
    const url = new URL(stack.calls('list')[0]?.url ?? '', 'http://x');
    expect(url.searchParams.get('agent_id')).toBe(agent.id);
  });

  it('resumes from any edge cursor with no duplicate and no gap', async () => {
    const all = stack.simulator.store.batchIds();
    // Collect every edge cursor with its position, over pages of a size that straddles upstream pages.
    const cursors: Array<{ cursor: string; index: number }> = [];
    let after: string | null = null;
    for (;;) {
      const connection = await page(30, after);
      for (const edge of connection.edges) cursors.push({ cursor: edge.cursor, index: all.indexOf(edge.node.batchId) });
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(cursors.map((c) => c.index)).toEqual(all.map((_, i) => i));
    for (const { cursor, index } of cursors) {
      for (const first of [1, 13]) {
        const connection = await page(first, cursor);
        expect(connection.edges.map((e) => e.node.batchId)).toEqual(all.slice(index + 1, index + 1 + first));
        expect(connection.pageInfo.hasNextPage).toBe(index + 1 + first < all.length);
        expect(connection.pageInfo.hasPreviousPage).toBe(true);
      }
    }
  });

  it('reports page boundaries truthfully', async () => {
    const first = await page(5);
    expect(first.pageInfo.hasPreviousPage).toBe(false);
    expect(first.pageInfo.startCursor).toBe(first.edges[0]?.cursor);
    expect(first.pageInfo.endCursor).toBe(first.edges[4]?.cursor);
    const total = stack.simulator.store.batchIds().length;
    expect(total).toBeGreaterThan(101);
    expect(total).toBeLessThanOrEqual(200);
    const head = await page(100);
    const middle = await page(total - 101, head.pageInfo.endCursor);
    const last = await page(100, middle.pageInfo.endCursor);
    expect(last.edges).toHaveLength(1);
    expect(last.pageInfo.hasNextPage).toBe(false);
  });

  it('refuses a cursor from another agent filter', async () => {
    const first = await page(2);
    const agent = stack.simulator.store.agents()[0];
    const response = await stack.gql(PAGE, { first: 2, after: first.pageInfo.endCursor, agentId: agent?.id });
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.body.errors?.[0]?.message).toMatch(/agentId/);
  });
});
