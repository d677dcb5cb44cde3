import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/simulator/clock.js';
import type { WireBatchCallStatus } from '../src/upstream/types.js';
import { startStack, type Stack } from './helpers/stack.js';

/** Recipient statuses as the API spells them, and the GraphQL value each is counted under. */
const WIRE_TO_ENUM: Readonly<Record<string, string>> = {
  pending: 'PENDING', dispatched: 'DISPATCHED', initiated: 'INITIATED', in_progress: 'IN_PROGRESS', completed: 'COMPLETED',
  failed: 'FAILED', cancelled: 'CANCELLED', voicemail: 'VOICEMAIL',
};
const ENUM_ORDER = ['PENDING', 'DISPATCHED', 'INITIATED', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED', 'VOICEMAIL', 'UNKNOWN'];

interface Stats {
  total: number;
  byStatus: Array<{ status: string; count: number }>;
  pending: number; dispatched: number; initiated: number; inProgress: number; completed: number;
  failed: number; cancelled: number; voicemail: number; unknown: number;
  active: number;
  finished: number;
  completionRate: number | null;
  failureRate: number | null;
  progress: number;
}

const STATS = `total byStatus { status count } pending dispatched initiated inProgress completed failed cancelled voicemail unknown
  active finished completionRate failureRate progress`;

let stack: Stack;
let clock: ManualClock;
/** Batches added for these tests, by what they show. */
const ids: Record<'pending' | 'running' | 'completed' | 'failed' | 'cancelled' | 'empty' | 'emptyPending' | 'unknowns', string> = {
  pending: '', running: '', completed: '', failed: '', cancelled: '', empty: '', emptyPending: '', unknowns: '',
};

beforeAll(async () => {
  // A still clock: batches move only when a test advances it.
  clock = new ManualClock(Date.now());
  stack = await startStack({ clock, env: { UPSTREAM_MAX_CONCURRENCY: '3' } });
  const { store } = stack.simulator;
  const add = (status: WireBatchCallStatus, recipients: number): string => store.addBatch({ status, recipients });
  ids.pending = add('pending', 30);
  ids.running = add('in_progress', 50);
  ids.completed = add('completed', 40);
  ids.failed = add('failed', 20);
  ids.cancelled = add('cancelled', 20);
  ids.empty = add('completed', 0);
  ids.emptyPending = add('pending', 0);
  ids.unknowns = add('completed', 12);
  const recipients = store.getBatch(ids.unknowns)?.recipients ?? [];
  for (const recipient of recipients.slice(0, 3)) store.patchRecipient(ids.unknowns, recipient.id, { status: 'ringing_back' });
});
afterAll(async () => {
  await stack.close();
});
beforeEach(() => {
  stack.resetCalls();
});

/** The stats worked out here, from the simulator's own data, without the gateway's code. */
function expected(batchId: string): Stats {
  const batch = stack.simulator.store.getBatch(batchId);
  if (batch === undefined) throw new Error(`no batch ${batchId}`);
  const counts = new Map<string, number>(ENUM_ORDER.map((s) => [s, 0]));
  for (const recipient of batch.recipients) {
    const status = WIRE_TO_ENUM[recipient.status] ?? 'UNKNOWN';
    counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  const n = (status: string): number => counts.get(status) ?? 0;
  const total = batch.recipients.length;
  const finished = n('COMPLETED') + n('FAILED') + n('CANCELLED') + n('VOICEMAIL');
  const terminal = ['completed', 'failed', 'cancelled'].includes(batch.status);
  return {
    total,
    byStatus: ENUM_ORDER.map((status) => ({ status, count: n(status) })),
    pending: n('PENDING'), dispatched: n('DISPATCHED'), initiated: n('INITIATED'), inProgress: n('IN_PROGRESS'),
    completed: n('COMPLETED'), failed: n('FAILED'), cancelled: n('CANCELLED'), voicemail: n('VOICEMAIL'), unknown: n('UNKNOWN'),
    active: n('DISPATCHED') + n('INITIATED') + n('IN_PROGRESS'),
    finished,
    completionRate: finished === 0 ? null : n('COMPLETED') / finished,
    failureRate: finished === 0 ? null : n('FAILED') / finished,
    progress: total === 0 ? (terminal ? 1 : 0) : finished / total,
  };
}

async function statsOf(batchId: string): Promise<Stats | null | undefined> {
  const response = await stack.gql<{ batchCall: { recipientStats: Stats | null } | null }>(
    `query($id: ID!) { batchCall(id: $id) { recipientStats { ${STATS} } } }`,
    { id: batchId },
  );
  expect(response.body.errors).toBeUndefined();
  return response.body.data?.batchCall?.recipientStats;
}

describe('BatchCall.recipientStats', () => {
  it('equals the figures computed from the simulator for batches in every state', async () => {
    for (const [what, id] of Object.entries(ids)) {
      expect(await statsOf(id), what).toEqual(expected(id));
    }
  });

  it('covers the cases that matter: running, unknown statuses, empty batches', async () => {
    const running = await statsOf(ids.running);
    expect(running?.finished).toBeLessThan(running?.total ?? 0);
    const unknowns = await statsOf(ids.unknowns);
    expect(unknowns?.unknown).toBe(3);
    expect(unknowns?.byStatus.find((c) => c.status === 'UNKNOWN')?.count).toBe(3);
    // UNKNOWN recipients are not finished, so this completed batch is not at 100 %.
    expect(unknowns?.progress).toBe(9 / 12);
    expect(await statsOf(ids.empty)).toMatchObject({ total: 0, progress: 1, completionRate: null, failureRate: null });
    expect(await statsOf(ids.emptyPending)).toMatchObject({ total: 0, progress: 0 });
    const failed = await statsOf(ids.failed);
    expect((failed?.completionRate ?? 0) + (failed?.failureRate ?? 0)).toBeLessThan(1);
  });

  it('costs one list call plus one detail per batch with recipients, shared with `recipients`', async () => {
    const response = await stack.gql<{ batchCalls: { edges: Array<{ node: { batchId: string; recipientStats: Stats | null; recipients: { totalCount: number } | null } }> } }>(`{
      batchCalls(first: 10) {
        edges { node { batchId recipientStats { ${STATS} } recipients(first: 2) { totalCount } again: recipientStats { progress } } }
      }
    }`);
    expect(response.body.errors).toBeUndefined();
    const edges = response.body.data?.batchCalls.edges ?? [];
    expect(edges).toHaveLength(10);
    expect(stack.calls('list')).toHaveLength(1);
    const details = stack.calls('detail').map((r) => r.batchId ?? '');
    expect(details.sort()).toEqual(edges.map((e) => e.node.batchId).sort());
    for (const { node } of edges) {
      expect(node.recipientStats).toEqual(expected(node.batchId));
      expect(node.recipients?.totalCount).toBe(node.recipientStats?.total);
    }
  });

  it('needs no detail call beyond the one a batchCall makes anyway', async () => {
    await statsOf(ids.completed);
    expect(stack.calls('detail')).toHaveLength(1);
    expect(stack.calls('list')).toHaveLength(0);
  });

  it("moves as a running batch's recipients progress", async () => {
    const before = await statsOf(ids.running);
    clock.advance(10 * 60_000);
    const after = await statsOf(ids.running);
    expect(after).toEqual(expected(ids.running));
    expect(after?.progress).toBeGreaterThan(before?.progress ?? 1);
    expect(after?.finished).toBeGreaterThan(before?.finished ?? Number.MAX_SAFE_INTEGER);
  });
});
