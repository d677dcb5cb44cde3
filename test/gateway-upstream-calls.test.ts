import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/simulator/clock.js';
import { codes, startStack, type Stack } from './helpers/stack.js';

const toGlobalId = (type: string, id: string): string => Buffer.from(`${type}:${id}`).toString('base64url');

let stack: Stack;
beforeAll(async () => {
  // A still clock: running batches must not change between the pages a test compares.
  stack = await startStack({ env: { UPSTREAM_MAX_CONCURRENCY: '3' }, clock: new ManualClock(Date.now()) });
});
afterAll(async () => {
  await stack.close();
});
beforeEach(() => {
  stack.simulator.faults.clear();
  stack.resetCalls();
});

const detailIds = (): string[] => stack.calls('detail').map((r) => r.batchId ?? '');

describe('upstream economy, counted at the simulator', () => {
  it('answers list fields from the list response alone', async () => {
    const response = await stack.gql(`{
      batchCalls(first: 25) {
        edges { node { id batchId name agentId agentName status phoneNumberId phoneProvider createdAt scheduledAt
          lastUpdatedAt timezone totalCallsDispatched totalCallsScheduled totalCallsFinished retryCount
          targetConcurrencyLimit branchId branchName environment
          telephonyCallConfig { ringingTimeoutSecs } whatsappParams { whatsappPhoneNumberId } } }
      }
    }`);
    expect(response.body.errors).toBeUndefined();
    expect(stack.calls('list')).toHaveLength(1);
    expect(stack.calls('detail')).toHaveLength(0);
  });

  it('costs one list call plus one detail per batch for recipients of a page', async () => {
    const response = await stack.gql<{ batchCalls: { edges: Array<{ node: { batchId: string; recipients: { totalCount: number } } }> } }>(`{
      batchCalls(first: 8) { edges { node { batchId recipients(first: 2) { totalCount } again: recipients(first: 1, status: [COMPLETED]) { totalCount } } } }
    }`);
    expect(response.body.errors).toBeUndefined();
    const ids = response.body.data?.batchCalls.edges.map((e) => e.node.batchId) ?? [];
    expect(ids).toHaveLength(8);
    expect(stack.calls('list')).toHaveLength(1);
    expect(detailIds().sort()).toEqual([...ids].sort());
    for (const edge of response.body.data?.batchCalls.edges ?? []) {
      expect(edge.node.recipients.totalCount).toBe(stack.simulator.store.getBatch(edge.node.batchId)?.recipients.length);
    }
  });

  it('runs the detail fetches of a page with bounded concurrency', async () => {
    stack.simulator.faults.add({ kind: 'delay', route: 'detail', delayMs: 60 });
    const response = await stack.gql(`{ batchCalls(first: 10) { edges { node { recipients(first: 1) { totalCount } } } } }`);
    expect(response.body.errors).toBeUndefined();
    expect(stack.calls('detail')).toHaveLength(10);
    // UPSTREAM_MAX_CONCURRENCY=3: in parallel, but never more than three at once.
    expect(stack.simulator.peakInFlight).toBe(3);
  });

  it('never fetches the same batch twice in one operation, whatever the route to it', async () => {
    const [batchId] = stack.simulator.store.batchIds();
    if (batchId === undefined) throw new Error('no batch');
    const globalId = toGlobalId('BatchCall', batchId);
    const response = await stack.gql<Record<string, { name: string } | null>>(
      `query($raw: ID!, $global: ID!) {
        a: batchCall(id: $raw) { name recipients(first: 3) { totalCount } }
        b: batchCall(id: $global) { name recipients(first: 3, status: [COMPLETED]) { totalCount } }
        c: node(id: $global) { ... on BatchCall { name } }
        d: nodes(ids: [$global, $global]) { id }
        e: batchCalls(first: 3) { edges { node { batchId recipients(first: 1) { totalCount } } } }
      }`,
      { raw: batchId, global: globalId },
    );
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.['a']?.name).toBe(stack.simulator.store.getBatch(batchId)?.name);
    expect(detailIds().filter((id) => id === batchId)).toHaveLength(1);
    expect(new Set(detailIds()).size).toBe(detailIds().length);
  });

  it('shares one list call between identical connections in an operation', async () => {
    const response = await stack.gql(`{
      a: batchCalls(first: 5) { edges { cursor } }
      b: batchCalls(first: 5) { edges { node { name } } }
    }`);
    expect(response.body.errors).toBeUndefined();
    expect(stack.calls('list')).toHaveLength(1);
  });

  it('does not call upstream for a malformed id', async () => {
    const response = await stack.gql(`{ batchCall(id: "../workspace?limit=1") { name } }`);
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(stack.calls()).toHaveLength(0);
  });
});

interface RecipientsPage {
  batchCall: {
    recipients: {
      totalCount: number;
      edges: Array<{ cursor: string; node: { id: string; recipientId: string; status: string } }>;
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    } | null;
  } | null;
}

const RECIPIENTS = `query($id: ID!, $first: Int, $after: String, $status: [BatchCallRecipientStatus!]) {
  batchCall(id: $id) {
    recipients(first: $first, after: $after, status: $status) {
      totalCount
      edges { cursor node { id recipientId status } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

describe('BatchCall.recipients', () => {
  const biggest = (): { id: string; recipients: Array<{ id: string; status: string }> } => {
    let best: { id: string; recipients: Array<{ id: string; status: string }> } | undefined;
    for (const id of stack.simulator.store.batchIds()) {
      const batch = stack.simulator.store.getBatch(id);
      if (batch !== undefined && (best === undefined || batch.recipients.length > best.recipients.length)) {
        best = { id, recipients: batch.recipients.map((r) => ({ id: r.id, status: r.status })) };
      }
    }
    if (best === undefined) throw new Error('no batch');
    return best;
  };

  async function walkRecipients(id: string, first: number, status?: string[]): Promise<{ ids: string[]; totals: number[] }> {
    const ids: string[] = [];
    const totals: number[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 1000; guard++) {
      const response: { body: { data?: RecipientsPage | null; errors?: unknown[] } } = await stack.gql<RecipientsPage>(RECIPIENTS, { id, first, after, status });
      expect(response.body.errors).toBeUndefined();
      const page = response.body.data?.batchCall?.recipients;
      if (page === undefined || page === null) throw new Error('no recipients');
      totals.push(page.totalCount);
      ids.push(...page.edges.map((e) => e.node.recipientId));
      if (!page.pageInfo.hasNextPage) return { ids, totals };
      after = page.pageInfo.endCursor;
    }
    throw new Error('did not end');
  }

  it('pages every recipient once, in upstream order, with totalCount', async () => {
    const batch = biggest();
    expect(batch.recipients.length).toBeGreaterThanOrEqual(300);
    const { ids, totals } = await walkRecipients(batch.id, 100);
    expect(ids).toEqual(batch.recipients.map((r) => r.id));
    expect(new Set(totals)).toEqual(new Set([batch.recipients.length]));
  });

  it('filters by status, with totalCount of the filtered set', async () => {
    const batch = biggest();
    const wanted = ['completed', 'voicemail'];
    const expected = batch.recipients.filter((r) => wanted.includes(r.status)).map((r) => r.id);
    expect(expected.length).toBeGreaterThan(0);
    const { ids, totals } = await walkRecipients(batch.id, 37, ['COMPLETED', 'VOICEMAIL']);
    expect(ids).toEqual(expected);
    expect(new Set(totals)).toEqual(new Set([expected.length]));
  });

  it('refuses a cursor from another filter, a garbage cursor and an out-of-bounds first', async () => {
    const batch = biggest();
    const first = await stack.gql<RecipientsPage>(RECIPIENTS, { id: batch.id, first: 2 });
    const cursor = first.body.data?.batchCall?.recipients?.pageInfo.endCursor;
    const other = await stack.gql(RECIPIENTS, { id: batch.id, first: 2, after: cursor, status: ['FAILED'] });
    expect(codes(other)).toEqual(['BAD_USER_INPUT']);
    const garbage = await stack.gql(RECIPIENTS, { id: batch.id, after: 'not-a-cursor' });
    expect(codes(garbage)).toEqual(['BAD_USER_INPUT']);
    const tooMany = await stack.gql(RECIPIENTS, { id: batch.id, first: 101 });
    expect(codes(tooMany)).toEqual(['BAD_USER_INPUT']);
    expect(tooMany.body.errors?.[0]?.message).toMatch(/100/);
  });

  it('resolves a recipient by its global id with one detail call', async () => {
    const batch = biggest();
    const page = await stack.gql<RecipientsPage>(RECIPIENTS, { id: batch.id, first: 3 });
    const node = page.body.data?.batchCall?.recipients?.edges[2]?.node;
    if (node === undefined) throw new Error('no recipient');
    stack.resetCalls();
    const response = await stack.gql<{ node: { recipientId: string; status: string } | null }>(
      `query($id: ID!) { node(id: $id) { ... on Recipient { recipientId status } } }`,
      { id: node.id },
    );
    expect(response.body.data?.node?.recipientId).toBe(node.recipientId);
    expect(stack.calls('detail')).toHaveLength(1);
  });
});
