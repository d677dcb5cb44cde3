import { afterEach, describe, expect, it } from 'vitest';
import { ManualTimers } from '../src/live/timers.js';
import { ManualClock } from '../src/simulator/clock.js';
import type { WireBatchCallDetail } from '../src/upstream/types.js';
import { startStack, type Stack, type StackOptions } from './helpers/stack.js';

/**
 * `batchCallUpdated` over real HTTP (yoga's Server-Sent Events) against the simulator. The
 * simulator's batches move only when its ManualClock is advanced, and the gateway's polls fire
 * only when the test runs its ManualTimers: every count below is exact.
 */

const SUBSCRIPTION = `subscription Watch($id: ID!) {
  batchCallUpdated(id: $id) {
    id batchId status totalCallsDispatched totalCallsScheduled totalCallsFinished retryCount
    recipients(first: 100) { totalCount edges { node { recipientId status conversationId } } }
  }
}`;

interface Update {
  id: string;
  batchId: string;
  status: string;
  totalCallsDispatched: number;
  totalCallsScheduled: number;
  totalCallsFinished: number | null;
  retryCount: number;
  recipients: { totalCount: number; edges: Array<{ node: { recipientId: string; status: string; conversationId: string | null } }> };
}

interface Payload {
  data?: { batchCallUpdated: Update | null } | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

/** One SSE subscription as a client sees it: the `next` payloads, then `complete` (or the connection's end). */
interface Client {
  status: number;
  contentType: string | null;
  payloads: Payload[];
  /** The server sent `event: complete`. */
  completed: boolean;
  /** Resolves when the stream ends, whatever the reason. */
  ended: Promise<void>;
  /** Disconnects. */
  close(): void;
}

interface OpenOptions {
  query?: string;
  method?: 'POST' | 'GET';
  accept?: string;
  headers?: Record<string, string>;
}

async function open(stack: Stack, id: string, options: OpenOptions = {}): Promise<Client> {
  const controller = new AbortController();
  const query = options.query ?? SUBSCRIPTION;
  const headers = { accept: options.accept ?? 'text/event-stream', ...options.headers };
  const endpoint = `${stack.gateway.url}/graphql`;
  // A stream whose headers do not come (a buffered response) fails here, not at the test timeout.
  const headersTimer = setTimeout(() => controller.abort(new Error('no response headers within 5 s')), 5_000);
  const response = await (options.method === 'GET'
    ? fetch(`${endpoint}?${new URLSearchParams({ query, variables: JSON.stringify({ id }) }).toString()}`, { headers, signal: controller.signal })
    : fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query, variables: { id } }),
      signal: controller.signal,
    })).finally(() => clearTimeout(headersTimer));
  const client: Client = {
    status: response.status,
    contentType: response.headers.get('content-type'),
    payloads: [],
    completed: false,
    ended: Promise.resolve(),
    close: () => controller.abort(),
  };
  client.ended = (async () => {
    if (response.body === null) return;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        let end = buffered.indexOf('\n\n');
        while (end >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          end = buffered.indexOf('\n\n');
          const lines = block.split('\n');
          const event = lines.find((l) => l.startsWith('event:'))?.slice('event:'.length).trim();
          const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice('data:'.length).trim()).join('\n');
          if (event === 'next') client.payloads.push(JSON.parse(data) as Payload);
          else if (event === 'complete') client.completed = true;
        }
      }
    } catch {
      // Disconnected by close().
    }
  })();
  return client;
}

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What the gateway compares between polls, read straight from the simulator's store. */
function view(detail: WireBatchCallDetail | undefined): string {
  if (detail === undefined) throw new Error('batch gone');
  return JSON.stringify([
    detail.status, detail.total_calls_dispatched, detail.total_calls_scheduled, detail.total_calls_finished ?? null, detail.retry_count ?? null,
    detail.recipients.map((r) => [r.id, r.status, r.updated_at_unix, r.conversation_id]),
  ]);
}

/** The fields a subscriber receives for a wire detail (as the gateway maps them). */
function expected(detail: WireBatchCallDetail): Pick<Update, 'status' | 'totalCallsDispatched' | 'totalCallsFinished'> & { recipients: string[] } {
  return {
    status: detail.status.toUpperCase(),
    totalCallsDispatched: detail.total_calls_dispatched,
    totalCallsFinished: detail.total_calls_finished ?? null,
    recipients: detail.recipients.map((r) => `${r.id}:${r.status.toUpperCase()}`),
  };
}

function received(payload: Payload | undefined): ReturnType<typeof expected> {
  const update = payload?.data?.batchCallUpdated;
  if (update === undefined || update === null) throw new Error(`not an update: ${JSON.stringify(payload)}`);
  return {
    status: update.status,
    totalCallsDispatched: update.totalCallsDispatched,
    totalCallsFinished: update.totalCallsFinished,
    recipients: update.recipients.edges.map((e) => `${e.node.recipientId}:${e.node.status}`),
  };
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** Advances the simulator's clock second by second until the batch shows a change a subscriber would see. */
function advanceToNextChange(stack: Stack, clock: ManualClock, id: string): WireBatchCallDetail {
  const before = view(stack.simulator.store.getBatch(id));
  for (let step = 0; step < 24 * 3600; step += 1) {
    clock.advance(1_000);
    const detail = stack.simulator.store.getBatch(id);
    if (view(detail) !== before && detail !== undefined) return detail;
  }
  throw new Error('the batch never changed');
}

function codeOf(payload: Payload | undefined): unknown {
  return payload?.errors?.[0]?.extensions?.['code'];
}

let stacks: Stack[] = [];
afterEach(async () => {
  await Promise.all(stacks.map((s) => s.close()));
  stacks = [];
});

async function stackWith(options: StackOptions & { env?: Record<string, string> } = {}): Promise<Stack> {
  const stack = await startStack({ ...options, env: { LIVE_POLL_INTERVAL_MS: '1000', ...options.env } });
  stacks.push(stack);
  return stack;
}

describe('batchCallUpdated: one shared poll', () => {
  it('twenty subscribers on one running batch: one upstream poll per interval, every change to each in the same order, all complete', async () => {
    const clock = new ManualClock(Date.now());
    const timers = new ManualTimers();
    const stack = await stackWith({ clock, liveTimers: timers });
    const id = stack.simulator.store.addBatch({ status: 'in_progress', recipients: 3 });
    stack.resetCalls();

    const clients = await Promise.all(Array.from({ length: 20 }, () => open(stack, id)));
    for (const client of clients) {
      expect(client.status).toBe(200);
      expect(client.contentType).toContain('text/event-stream');
    }
    await until(() => clients.every((c) => c.payloads.length === 1), 'the first event');
    expect(stack.calls('detail')).toHaveLength(1);

    const first = stack.simulator.store.getBatch(id);
    if (first === undefined) throw new Error('batch gone');
    const sequence = [expected(first)];
    let detail = first;
    while (!TERMINAL.has(detail.status)) {
      detail = advanceToNextChange(stack, clock, id);
      sequence.push(expected(detail));
      // The next poll is scheduled one interval after the last one answered; nothing else is pending.
      expect(timers.pendingDelays()).toEqual([1_000]);
      timers.runNext();
      await until(() => clients.every((c) => c.payloads.length === sequence.length), `event ${sequence.length}`);
      // One poll, whatever the number of subscribers; `recipients` came with it (no other detail call).
      expect(stack.calls('detail')).toHaveLength(sequence.length);
    }
    await until(() => clients.every((c) => c.completed), 'every subscription to complete');
    await Promise.all(clients.map((c) => c.ended));

    expect(sequence.length).toBeGreaterThan(3);
    expect(sequence.at(-1)?.status).toBe('COMPLETED');
    for (const client of clients) {
      expect(client.payloads.map(received)).toEqual(sequence);
      expect(client.payloads.every((p) => p.errors === undefined)).toBe(true);
    }
    const update = clients[0]?.payloads[0]?.data?.batchCallUpdated;
    expect(update?.batchId).toBe(id);
    expect(update?.recipients.totalCount).toBe(3);
    // Terminal: the watch stopped, nothing more is polled.
    expect(timers.pending).toBe(0);
    expect(stack.calls('detail')).toHaveLength(sequence.length);
  });

  it('a poll that finds nothing new emits nothing, and the next change is still delivered', async () => {
    const clock = new ManualClock(Date.now());
    const timers = new ManualTimers();
    const stack = await stackWith({ clock, liveTimers: timers });
    const id = stack.simulator.store.addBatch({ status: 'in_progress', recipients: 4 });
    stack.resetCalls();
    const client = await open(stack, id);
    await until(() => client.payloads.length === 1, 'the first event');

    for (let poll = 2; poll <= 4; poll += 1) {
      timers.runNext();
      await until(() => stack.calls('detail').length === poll && timers.pending === 1, `poll ${poll}`);
    }
    await sleep(50);
    expect(client.payloads).toHaveLength(1);

    const changed = advanceToNextChange(stack, clock, id);
    timers.runNext();
    await until(() => client.payloads.length === 2, 'the change');
    expect(received(client.payloads[1])).toEqual(expected(changed));
    client.close();
  });

  it('a later subscriber first gets the latest poll\'s result, without a poll of its own', async () => {
    const clock = new ManualClock(Date.now());
    const timers = new ManualTimers();
    const stack = await stackWith({ clock, liveTimers: timers });
    const id = stack.simulator.store.addBatch({ status: 'in_progress', recipients: 3 });
    stack.resetCalls();
    const early = await open(stack, id);
    await until(() => early.payloads.length === 1, 'the first event');
    const changed = advanceToNextChange(stack, clock, id);
    timers.runNext();
    await until(() => early.payloads.length === 2, 'the change');

    // The batch moves on upstream, but a new subscriber is told what the last poll saw, at once.
    advanceToNextChange(stack, clock, id);
    const late = await open(stack, id);
    await until(() => late.payloads.length === 1, 'the late subscriber\'s first event');
    expect(received(late.payloads[0])).toEqual(expected(changed));
    expect(stack.calls('detail')).toHaveLength(2);
    early.close();
    late.close();
  });

  it('a batch already terminal gives one event and completes', async () => {
    const timers = new ManualTimers();
    const stack = await stackWith({ clock: new ManualClock(Date.now()), liveTimers: timers });
    const id = stack.simulator.store.addBatch({ status: 'completed', recipients: 2 });
    stack.resetCalls();
    const client = await open(stack, id);
    await client.ended;
    expect(client.completed).toBe(true);
    expect(client.payloads.map((p) => p.data?.batchCallUpdated?.status)).toEqual(['COMPLETED']);
    expect(stack.calls('detail')).toHaveLength(1);
    expect(timers.pending).toBe(0);
  });

  it('takes a BatchCall global ID as well as a raw id', async () => {
    const stack = await stackWith({ clock: new ManualClock(Date.now()), liveTimers: new ManualTimers() });
    const id = stack.simulator.store.addBatch({ status: 'completed', recipients: 1 });
    const globalId = Buffer.from(`BatchCall:${id}`).toString('base64');
    const query = await stack.gql<{ batchCall: { id: string } }>('query($id: ID!) { batchCall(id: $id) { id } }', { id });
    expect(query.body.data?.batchCall.id).toBe(globalId);
    const client = await open(stack, globalId);
    await client.ended;
    expect(client.payloads[0]?.data?.batchCallUpdated?.batchId).toBe(id);
    expect(client.payloads[0]?.data?.batchCallUpdated?.id).toBe(globalId);
  });
});

describe('batchCallUpdated: leaving costs nothing', () => {
  it('with one of two subscribers gone the polls go on once per interval; with both gone, no upstream call at all', async () => {
    const clock = new ManualClock(Date.now());
    const timers = new ManualTimers();
    const stack = await stackWith({ clock, liveTimers: timers });
    const id = stack.simulator.store.addBatch({ status: 'in_progress', recipients: 5 });
    stack.resetCalls();
    const [a, b] = await Promise.all([open(stack, id), open(stack, id)]);
    if (a === undefined || b === undefined) throw new Error('unreachable');
    await until(() => a.payloads.length === 1 && b.payloads.length === 1, 'the first events');

    b.close();
    await b.ended;
    for (let poll = 2; poll <= 3; poll += 1) {
      advanceToNextChange(stack, clock, id);
      expect(timers.pendingDelays()).toEqual([1_000]);
      timers.runNext();
      await until(() => a.payloads.length === poll, `event ${poll}`);
      expect(stack.calls('detail')).toHaveLength(poll);
    }
    expect(b.payloads).toHaveLength(1);

    a.close();
    await a.ended;
    // The last subscriber left: its timer is cleared, so nothing can poll again.
    await until(() => timers.pending === 0, 'the timer to be cleared');
    advanceToNextChange(stack, clock, id);
    await sleep(200);
    expect(stack.calls()).toHaveLength(3);
  });

  it('a poll in flight is aborted when the last subscriber leaves', async () => {
    const timers = new ManualTimers();
    const stack = await stackWith({ clock: new ManualClock(Date.now()), liveTimers: timers });
    const id = stack.simulator.store.addBatch({ status: 'in_progress', recipients: 3 });
    const client = await open(stack, id);
    await until(() => client.payloads.length === 1, 'the first event');

    stack.simulator.faults.add({ kind: 'delay', delayMs: 15_000, route: 'detail' });
    timers.runNext();
    await until(() => stack.simulator.inFlight === 1, 'the poll to reach the upstream');
    client.close();
    // The upstream connection is given up at once, not when the slow answer would come.
    await until(() => stack.simulator.inFlight === 0, 'the poll to be aborted', 3_000);
    expect(timers.pending).toBe(0);
  });

  it('with real timers: polls at the interval, and stop when the subscriber leaves', async () => {
    const stack = await stackWith({ env: { LIVE_POLL_INTERVAL_MS: '50' } });
    const id = stack.simulator.store.addBatch({ status: 'in_progress', recipients: 3 });
    stack.resetCalls();
    const client = await open(stack, id);
    await until(() => stack.calls('detail').length >= 4, 'four polls');
    client.close();
    await client.ended;
    await sleep(100);
    const after = stack.calls('detail').length;
    await sleep(300);
    expect(stack.calls('detail')).toHaveLength(after);
  });
});

describe('batchCallUpdated: upstream failures', () => {
  it('backs off while the upstream fails (doubling, capped), emits nothing meanwhile, and recovers', async () => {
    const clock = new ManualClock(Date.now());
    const timers = new ManualTimers();
    const stack = await stackWith({
      clock,
      liveTimers: timers,
      env: { LIVE_POLL_MAX_BACKOFF_MS: '4000', UPSTREAM_MAX_RETRIES: '0', CIRCUIT_FAILURE_THRESHOLD: '100' },
    });
    const id = stack.simulator.store.addBatch({ status: 'in_progress', recipients: 3 });
    stack.resetCalls();
    const client = await open(stack, id);
    await until(() => client.payloads.length === 1, 'the first event');

    const fault = stack.simulator.faults.add({ kind: 'status', status: 503, route: 'detail' });
    const delays: number[] = [];
    for (let failure = 1; failure <= 4; failure += 1) {
      // Changes upstream are not seen while it fails, and the failure itself is not sent.
      advanceToNextChange(stack, clock, id);
      delays.push(timers.runNext());
      await until(() => stack.calls('detail').length === 1 + failure && timers.pending === 1, `failed poll ${failure}`);
    }
    delays.push(...timers.pendingDelays());
    expect(delays).toEqual([1_000, 2_000, 4_000, 4_000, 4_000]);
    expect(stack.calls('detail').filter((r) => r.status === 503)).toHaveLength(4);
    expect(client.payloads).toHaveLength(1);

    stack.simulator.faults.remove(fault.id);
    timers.runNext();
    await until(() => client.payloads.length === 2, 'the event after recovery');
    expect(received(client.payloads[1])).toEqual(expected(stack.simulator.store.getBatch(id) as WireBatchCallDetail));
    expect(timers.pendingDelays()).toEqual([1_000]);
    client.close();
  });

  it('a 429 Retry-After longer than the backoff is honoured', async () => {
    const timers = new ManualTimers();
    const stack = await stackWith({
      clock: new ManualClock(Date.now()),
      liveTimers: timers,
      env: { LIVE_POLL_MAX_BACKOFF_MS: '10000', UPSTREAM_MAX_RETRIES: '0' },
    });
    const id = stack.simulator.store.addBatch({ status: 'in_progress', recipients: 3 });
    stack.resetCalls();
    const client = await open(stack, id);
    await until(() => client.payloads.length === 1, 'the first event');
    stack.simulator.faults.add({ kind: 'status', status: 429, retryAfter: '7', route: 'detail', times: 1 });
    timers.runNext();
    await until(() => stack.calls('detail').length === 2 && timers.pending === 1, 'the refused poll');
    expect(timers.pendingDelays()).toEqual([7_000]);
    expect(client.payloads).toHaveLength(1);
    client.close();
  });

  it('NOT_FOUND: an unknown batch ends the subscription with the code; so does a batch that disappears', async () => {
    const timers = new ManualTimers();
    const stack = await stackWith({ clock: new ManualClock(Date.now()), liveTimers: timers });
    const unknown = await open(stack, 'btcal_does_not_exist');
    await unknown.ended;
    expect(unknown.completed).toBe(true);
    expect(unknown.payloads).toHaveLength(1);
    expect(unknown.payloads[0]?.data ?? null).toBeNull();
    expect(codeOf(unknown.payloads[0])).toBe('NOT_FOUND');
    expect(unknown.payloads[0]?.errors?.[0]?.message).toContain('btcal_does_not_exist');

    const id = stack.simulator.store.addBatch({ status: 'in_progress', recipients: 3 });
    const [a, b] = await Promise.all([open(stack, id), open(stack, id)]);
    if (a === undefined || b === undefined) throw new Error('unreachable');
    await until(() => a.payloads.length === 1 && b.payloads.length === 1, 'the first events');
    stack.simulator.store.removeBatch(id);
    timers.runNext();
    await Promise.all([a.ended, b.ended]);
    for (const client of [a, b]) {
      expect(client.completed).toBe(true);
      expect(client.payloads.map(codeOf)).toEqual([undefined, 'NOT_FOUND']);
    }
    expect(timers.pending).toBe(0);
  });

  it('UPSTREAM_UNAUTHORIZED ends every subscription on the batch', async () => {
    const timers = new ManualTimers();
    const stack = await stackWith({ clock: new ManualClock(Date.now()), liveTimers: timers });
    const id = stack.simulator.store.addBatch({ status: 'in_progress', recipients: 3 });
    const client = await open(stack, id);
    await until(() => client.payloads.length === 1, 'the first event');
    stack.simulator.faults.add({ kind: 'status', status: 401, route: 'detail' });
    timers.runNext();
    await client.ended;
    expect(client.payloads.map(codeOf)).toEqual([undefined, 'UPSTREAM_UNAUTHORIZED']);
    expect(JSON.stringify(client.payloads)).not.toContain('sk_test');
    expect(timers.pending).toBe(0);
  });

  it('a bad id is BAD_USER_INPUT before anything is polled', async () => {
    const stack = await stackWith({ liveTimers: new ManualTimers() });
    stack.resetCalls();
    for (const id of ['../workspace', 'workspace', 'a b', Buffer.from('Recipient:btcal_x:r1').toString('base64')]) {
      const client = await open(stack, id);
      await client.ended;
      expect(codeOf(client.payloads[0])).toBe('BAD_USER_INPUT');
      expect(client.completed).toBe(true);
    }
    expect(stack.calls()).toHaveLength(0);
  });
});

describe('batchCallUpdated: limits and shutdown', () => {
  it('refuses past LIVE_MAX_BATCHES and LIVE_MAX_SUBSCRIPTIONS with TOO_MANY_SUBSCRIPTIONS, and admits again once one leaves', async () => {
    const timers = new ManualTimers();
    const stack = await stackWith({
      clock: new ManualClock(Date.now()),
      liveTimers: timers,
      env: { LIVE_MAX_BATCHES: '2', LIVE_MAX_SUBSCRIPTIONS: '3' },
    });
    const [one, two, three] = [0, 1, 2].map(() => stack.simulator.store.addBatch({ status: 'in_progress', recipients: 2 }));
    if (one === undefined || two === undefined || three === undefined) throw new Error('unreachable');
    const a = await open(stack, one);
    const b = await open(stack, two);
    await until(() => a.payloads.length === 1 && b.payloads.length === 1, 'the first events');
    stack.resetCalls();

    const thirdBatch = await open(stack, three);
    await thirdBatch.ended;
    expect(codeOf(thirdBatch.payloads[0])).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(thirdBatch.payloads[0]?.errors?.[0]?.message).toMatch(/2 distinct batches/);

    const c = await open(stack, one);
    await until(() => c.payloads.length === 1, 'a third subscription on a watched batch');
    const fourth = await open(stack, two);
    await fourth.ended;
    expect(codeOf(fourth.payloads[0])).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(fourth.payloads[0]?.errors?.[0]?.message).toMatch(/3 open subscriptions/);
    expect(stack.calls()).toHaveLength(0);

    b.close();
    await until(() => timers.pending === 1, 'the second batch to be dropped');
    const again = await open(stack, three);
    await until(() => again.payloads.length === 1, 'a subscription once one left');
    expect(again.payloads[0]?.data?.batchCallUpdated?.batchId).toBe(three);
    for (const client of [a, c, again]) client.close();
  });

  it('shutdown completes open subscriptions, so the gateway closes promptly', async () => {
    const stack = await stackWith({ clock: new ManualClock(Date.now()), liveTimers: new ManualTimers() });
    const id = stack.simulator.store.addBatch({ status: 'in_progress', recipients: 3 });
    const clients = await Promise.all([open(stack, id), open(stack, id)]);
    await until(() => clients.every((c) => c.payloads.length === 1), 'the first events');
    const started = Date.now();
    await stack.gateway.close(15_000);
    expect(Date.now() - started).toBeLessThan(2_000);
    await Promise.all(clients.map((c) => c.ended));
    for (const client of clients) expect(client.completed).toBe(true);
  });
});

describe('batchCallUpdated: transport', () => {
  it('GET with Accept: text/event-stream works with a CSRF header, and is refused without one', async () => {
    const stack = await stackWith({ clock: new ManualClock(Date.now()), liveTimers: new ManualTimers() });
    const id = stack.simulator.store.addBatch({ status: 'completed', recipients: 1 });
    const refused = await open(stack, id, { method: 'GET' });
    await refused.ended;
    expect(refused.status).toBe(403);
    const client = await open(stack, id, { method: 'GET', headers: { 'x-graphql-csrf': '1' } });
    await client.ended;
    expect(client.status).toBe(200);
    expect(client.payloads.map((p) => p.data?.batchCallUpdated?.status)).toEqual(['COMPLETED']);
  });

  it('subscriptions are streamed by yoga, not the fast path: events arrive while the batch still runs', async () => {
    const timers = new ManualTimers();
    const stack = await stackWith({ clock: new ManualClock(Date.now()), liveTimers: timers, env: { GATEWAY_FAST_PATH: 'true' } });
    const id = stack.simulator.store.addBatch({ status: 'in_progress', recipients: 3 });
    const before = await servedBy(stack);
    // A client that lists JSON first still gets the stream (the fast path used to buffer it whole).
    const accepts = ['text/event-stream', 'application/json, text/event-stream', 'multipart/mixed, text/event-stream', '*/*'];
    for (const accept of accepts) {
      const client = await open(stack, id, { accept });
      await until(() => client.payloads.length === 1, `the first event with Accept: ${accept}`, 5_000);
      expect(client.completed).toBe(false);
      expect(client.contentType).toContain('text/event-stream');
      client.close();
      await client.ended;
    }
    const after = await servedBy(stack);
    expect((after['yoga'] ?? 0) - (before['yoga'] ?? 0)).toBe(accepts.length);
    expect((after['fast'] ?? 0) - (before['fast'] ?? 0)).toBe(0);
  });

  it('a client that cannot take a stream gets BAD_REQUEST, and nothing is watched or polled', async () => {
    const stack = await stackWith({ clock: new ManualClock(Date.now()), liveTimers: new ManualTimers(), env: { LIVE_MAX_BATCHES: '1' } });
    const id = stack.simulator.store.addBatch({ status: 'in_progress', recipients: 2 });
    for (const accept of ['application/json', 'application/graphql-response+json']) {
      const response = await fetch(`${stack.gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body: JSON.stringify({ query: SUBSCRIPTION, variables: { id } }),
      });
      const body = await response.json() as Payload;
      expect(body.errors?.[0]?.extensions?.['code']).toBe('BAD_REQUEST');
      expect(body.errors?.[0]?.message).toMatch(/text\/event-stream/);
    }
    expect(stack.calls()).toHaveLength(0);
    // The one watch slot is still free: a streaming client gets its first event.
    const client = await open(stack, id);
    await until(() => client.payloads.length === 1, 'the first event');
    expect(client.payloads[0]?.data?.batchCallUpdated?.batchId).toBe(id);
    client.close();
  });

  it('polls bypass the cache and store their answer: a query after a poll is served without an upstream call', async () => {
    const clock = new ManualClock(Date.now());
    const timers = new ManualTimers();
    const stack = await stackWith({ clock, liveTimers: timers, env: { CACHE_ENABLED: 'true' } });
    const id = stack.simulator.store.addBatch({ status: 'in_progress', recipients: 3 });
    const detail = 'query($id: ID!) { batchCall(id: $id) { status totalCallsDispatched } }';
    await stack.gql(detail, { id });
    stack.resetCalls();
    const client = await open(stack, id);
    await until(() => client.payloads.length === 1, 'the first event');
    // The cached detail (fresh for 2 s) did not answer the poll.
    expect(stack.calls('detail')).toHaveLength(1);

    const changed = advanceToNextChange(stack, clock, id);
    timers.runNext();
    await until(() => client.payloads.length === 2, 'the change');
    expect(stack.calls('detail')).toHaveLength(2);
    const query = await stack.gql<{ batchCall: { totalCallsDispatched: number } }>(detail, { id });
    expect(query.body.data?.batchCall.totalCallsDispatched).toBe(changed.total_calls_dispatched);
    expect(stack.calls('detail')).toHaveLength(2);
    client.close();
  });
});

async function servedBy(stack: Stack): Promise<Record<string, number>> {
  const text = await (await fetch(`${stack.gateway.url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^gateway_graphql_requests_total\{path="(\w+)"\} (\d+)$/gm)) counts[match[1] ?? ''] = Number(match[2]);
  return counts;
}

/** A subscription whose every event reads the upstream list again: its agent's newest batch. */
const AGENT_SUBSCRIPTION = `subscription WatchAgent($id: ID!) {
  batchCallUpdated(id: $id) {
    batchId status
    agent { agentId batchCalls(first: 1) { edges { node { batchId name } } } }
  }
}`;

interface AgentEvent {
  batchId: string;
  status: string;
  agent: { agentId: string; batchCalls: { edges: Array<{ node: { batchId: string; name: string } }> } | null } | null;
}

/** An AGENT_SUBSCRIPTION payload's event (the SSE reader types payloads for SUBSCRIPTION). */
function agentEvent(payload: Payload | undefined): AgentEvent {
  const event = payload?.data?.batchCallUpdated as unknown as AgentEvent | null | undefined;
  if (event === undefined || event === null) throw new Error(`not an update: ${JSON.stringify(payload)}`);
  return event;
}

/** The batches `agent.batchCalls(first: 1)` listed in an event, as `batchId:name`. */
function newestOfAgent(payload: Payload | undefined): string[] {
  const edges = agentEvent(payload).agent?.batchCalls?.edges;
  if (edges === undefined) throw new Error(`no agent.batchCalls in ${JSON.stringify(payload)}`);
  return edges.map((e) => `${e.node.batchId}:${e.node.name}`);
}

/** Moves the batch to its next visible change and fires the poll that finds it; waits for event `count`. */
async function nextEvent(stack: Stack, clock: ManualClock, timers: ManualTimers, client: Client, id: string, count: number): Promise<void> {
  const detail = advanceToNextChange(stack, clock, id);
  if (TERMINAL.has(detail.status)) throw new Error(`the batch finished before event ${count}`);
  expect(timers.pendingDelays()).toEqual([1_000]);
  timers.runNext();
  await until(() => client.payloads.length === count, `event ${count}`);
}

describe('batchCallUpdated: each event starts afresh (deadline, upstream-call budget, loaders)', () => {
  // An agent of its own: the batch under watch is its only batch, so its newest.
  const AGENT = 'agent_renewal_test';

  it('budget per event: with QUERY_MAX_UPSTREAM_CALLS=2, five events each list the agent once, all without errors', async () => {
    const clock = new ManualClock(Date.now());
    const timers = new ManualTimers();
    const stack = await stackWith({ clock, liveTimers: timers, env: { QUERY_MAX_UPSTREAM_CALLS: '2' } });
    const id = stack.simulator.store.addBatch({ agentId: AGENT, status: 'in_progress', recipients: 20 });
    const name = stack.simulator.store.getBatch(id)?.name;
    stack.resetCalls();

    // The limit is in force: each event is priced on its own (one list call here), and a
    // subscription whose events would cost three is refused before anything is polled.
    const tooDear = await open(stack, id, {
      query: `subscription($id: ID!) { batchCallUpdated(id: $id) { agent {
        a: batchCalls(first: 1) { edges { cursor } } b: batchCalls(first: 2) { edges { cursor } } c: batchCalls(first: 3) { edges { cursor } } } } }`,
    });
    await tooDear.ended;
    expect(codeOf(tooDear.payloads[0])).toBe('QUERY_TOO_COMPLEX');
    expect(tooDear.payloads[0]?.errors?.[0]?.message).toContain('up to 3 upstream calls');
    expect(stack.calls()).toHaveLength(0);

    const client = await open(stack, id, { query: AGENT_SUBSCRIPTION });
    await until(() => client.payloads.length === 1, 'the first event');
    for (let count = 2; count <= 5; count += 1) await nextEvent(stack, clock, timers, client, id, count);

    // Without a fresh budget per event, the third event's list would be refused (QUERY_TOO_COMPLEX).
    expect(client.payloads.map((p) => p.errors)).toEqual(Array.from({ length: 5 }, () => undefined));
    expect(client.payloads.map(newestOfAgent)).toEqual(Array.from({ length: 5 }, () => [`${id}:${name}`]));
    expect(client.payloads.map((p) => agentEvent(p).agent?.agentId)).toEqual(Array.from({ length: 5 }, () => AGENT));
    // One list call per event: read afresh each time (the loaders were emptied), never twice.
    const lists = stack.calls('list');
    expect(lists).toHaveLength(5);
    for (const call of lists) expect(new URL(call.url, 'http://simulator').searchParams.get('agent_id')).toBe(AGENT);
    expect(stack.calls('detail')).toHaveLength(5);
    client.close();
  });

  it('deadline per event: an event resolved longer than OPERATION_TIMEOUT_MS after the subscription started still reads the upstream', async () => {
    const clock = new ManualClock(Date.now());
    const timers = new ManualTimers();
    const stack = await stackWith({ clock, liveTimers: timers, env: { OPERATION_TIMEOUT_MS: '300' } });
    const id = stack.simulator.store.addBatch({ agentId: AGENT, status: 'in_progress', recipients: 20 });
    const name = stack.simulator.store.getBatch(id)?.name;
    stack.resetCalls();

    const client = await open(stack, id, { query: AGENT_SUBSCRIPTION });
    await until(() => client.payloads.length === 1, 'the first event');
    // Real time past the operation's deadline (and past the first event's own).
    await sleep(700);
    await nextEvent(stack, clock, timers, client, id, 2);
    await sleep(700);
    await nextEvent(stack, clock, timers, client, id, 3);

    // Without a fresh deadline per event, the list of events 2 and 3 would fail with UPSTREAM_TIMEOUT.
    expect(client.payloads.map((p) => p.errors)).toEqual([undefined, undefined, undefined]);
    expect(client.payloads.map(newestOfAgent)).toEqual(Array.from({ length: 3 }, () => [`${id}:${name}`]));
    expect(stack.calls('list').map((r) => r.status)).toEqual([200, 200, 200]);
    client.close();
  });

  it('loaders per event: a batch renamed upstream between two events shows its new name in the second', async () => {
    const clock = new ManualClock(Date.now());
    const timers = new ManualTimers();
    const stack = await stackWith({ clock, liveTimers: timers });
    const id = stack.simulator.store.addBatch({ agentId: AGENT, status: 'in_progress', recipients: 20, name: 'Before the rename' });
    stack.resetCalls();

    const client = await open(stack, id, { query: AGENT_SUBSCRIPTION });
    await until(() => client.payloads.length === 1, 'the first event');
    expect(newestOfAgent(client.payloads[0])).toEqual([`${id}:Before the rename`]);

    stack.simulator.store.patchBatch(id, { name: 'After the rename' });
    await nextEvent(stack, clock, timers, client, id, 2);
    // Read afresh, not the first event's page kept in the operation's loader.
    expect(newestOfAgent(client.payloads[1])).toEqual([`${id}:After the rename`]);
    expect(client.payloads[1]?.errors).toBeUndefined();
    expect(stack.calls('list')).toHaveLength(2);
    client.close();
  });
});
