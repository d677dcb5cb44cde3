import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { BatchWatch, type BatchSource, type LiveEvent } from '../../src/live/batch-watch.js';
import { changesBetween, snapshotOf } from '../../src/live/changes.js';
import { pollDelay } from '../../src/live/schedule.js';
import { ManualTimers } from '../../src/live/timers.js';
import { createLogger } from '../../src/logger.js';
import { Metrics } from '../../src/metrics.js';
import type { CallOptions } from '../../src/upstream/client.js';
import { decodeBatchDetail, type DecodedBatchDetail } from '../../src/upstream/decode.js';
import { UpstreamError } from '../../src/upstream/errors.js';

interface RecipientSpec {
  id: string;
  status?: string;
  updated?: number;
  conversation?: string | null;
}

interface BatchSpec {
  id?: string;
  status?: string;
  dispatched?: number;
  scheduled?: number;
  finished?: number;
  retry?: number;
  name?: string;
  lastUpdated?: number;
  recipients?: RecipientSpec[];
}

/** A detail as the client decodes it, from a wire body built here. */
function detail(spec: BatchSpec = {}): DecodedBatchDetail {
  const body = {
    id: spec.id ?? 'btcal_1',
    name: spec.name ?? 'Batch',
    agent_id: 'agent_1',
    agent_name: 'Agent',
    status: spec.status ?? 'in_progress',
    created_at_unix: 1_700_000_000,
    scheduled_time_unix: 1_700_000_000,
    last_updated_at_unix: spec.lastUpdated ?? 1_700_000_100,
    total_calls_dispatched: spec.dispatched ?? 1,
    total_calls_scheduled: spec.scheduled ?? 3,
    total_calls_finished: spec.finished ?? 0,
    retry_count: spec.retry ?? 0,
    recipients: (spec.recipients ?? [{ id: 'r1' }, { id: 'r2' }]).map((r) => ({
      id: r.id,
      phone_number: '+15550100',
      status: r.status ?? 'pending',
      created_at_unix: 1_700_000_000,
      updated_at_unix: r.updated ?? 1_700_000_000,
      conversation_id: r.conversation ?? null,
    })),
  };
  return decodeBatchDetail(body, (error) => new UpstreamError('UPSTREAM_BAD_RESPONSE', error.message));
}

describe('change detection', () => {
  const base: BatchSpec = { status: 'in_progress', dispatched: 1, scheduled: 3, finished: 0, retry: 0, recipients: [{ id: 'r1', status: 'dispatched', updated: 10 }, { id: 'r2' }] };
  const changes = (next: BatchSpec): string[] => changesBetween(snapshotOf(detail(base)), snapshotOf(detail({ ...base, ...next })));

  it('sees nothing when only fields a subscriber is not told about move', () => {
    expect(changes({})).toEqual([]);
    expect(changes({ name: 'Renamed', lastUpdated: 1_800_000_000 })).toEqual([]);
  });

  it('sees a status change, including between two values it does not know', () => {
    expect(changes({ status: 'completed' })).toEqual(['status']);
    const odd = changesBetween(snapshotOf(detail({ ...base, status: 'paused' })), snapshotOf(detail({ ...base, status: 'throttled' })));
    expect(odd).toEqual(['status']);
  });

  it('sees each count', () => {
    expect(changes({ dispatched: 2 })).toEqual(['counts']);
    expect(changes({ scheduled: 4 })).toEqual(['counts']);
    expect(changes({ finished: 1 })).toEqual(['counts']);
    expect(changes({ retry: 1 })).toEqual(['counts']);
  });

  it("sees each recipient's status, update time and conversation, and recipients added, removed or reordered", () => {
    const [r1, r2] = [{ id: 'r1', status: 'dispatched', updated: 10 }, { id: 'r2' }];
    expect(changes({ recipients: [{ ...r1, status: 'initiated' }, r2] })).toEqual(['recipients']);
    expect(changes({ recipients: [{ ...r1, updated: 11 }, r2] })).toEqual(['recipients']);
    expect(changes({ recipients: [{ ...r1, conversation: 'conv_1' }, r2] })).toEqual(['recipients']);
    expect(changes({ recipients: [r1, r2, { id: 'r3' }] })).toEqual(['recipients']);
    expect(changes({ recipients: [r1] })).toEqual(['recipients']);
    expect(changes({ recipients: [r2, r1] })).toEqual(['recipients']);
  });

  it('reports every aspect that changed at once, in a fixed order', () => {
    expect(changes({ status: 'completed', finished: 3, recipients: [{ id: 'r1', status: 'completed', updated: 20 }, { id: 'r2' }] }))
      .toEqual(['status', 'counts', 'recipients']);
  });

  it('field boundaries cannot be confused: ("ab","c") differs from ("a","bc")', () => {
    const a = snapshotOf(detail({ recipients: [{ id: 'ab', status: 'c' }] }));
    const b = snapshotOf(detail({ recipients: [{ id: 'a', status: 'bc' }] }));
    expect(changesBetween(a, b)).toEqual(['recipients']);
  });

  it('fails like a poll when the recipients cannot be read', () => {
    const broken = decodeBatchDetail(
      { id: 'b', name: 'n', agent_id: 'a', agent_name: 'A', status: 'in_progress', created_at_unix: 1, scheduled_time_unix: 1, last_updated_at_unix: 1, recipients: [{}] },
      (error) => new UpstreamError('UPSTREAM_BAD_RESPONSE', error.message),
    );
    expect(() => snapshotOf(broken)).toThrow(UpstreamError);
  });
});

describe('pollDelay', () => {
  const rhythm = { intervalMs: 2_000, maxBackoffMs: 60_000 };

  it('is the interval while polls succeed, then doubles per consecutive failure up to the maximum', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 100].map((failures) => pollDelay(rhythm, failures)))
      .toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000]);
  });

  it('honours a longer Retry-After, within the maximum; a shorter one changes nothing', () => {
    expect(pollDelay(rhythm, 1, 30_000)).toBe(30_000);
    expect(pollDelay(rhythm, 1, 1_000)).toBe(4_000);
    expect(pollDelay(rhythm, 1, 600_000)).toBe(60_000);
  });

  it('never goes below the interval, even when the maximum is smaller', () => {
    expect(pollDelay({ intervalMs: 5_000, maxBackoffMs: 1_000 }, 3)).toBe(5_000);
  });
});

describe('ManualTimers', () => {
  it('fires in due order, remembers delays, and forgets cancelled timers', () => {
    const timers = new ManualTimers();
    const fired: string[] = [];
    timers.schedule(300, () => fired.push('c'));
    const cancel = timers.schedule(100, () => fired.push('cancelled'));
    timers.schedule(200, () => fired.push('b'));
    timers.schedule(50, () => fired.push('a'));
    cancel();
    expect(timers.pendingDelays()).toEqual([50, 200, 300]);
    expect(timers.runNext()).toBe(50);
    expect(timers.advance(200)).toBe(1);
    expect(fired).toEqual(['a', 'b']);
    expect(timers.advance(100)).toBe(1);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(timers.pending).toBe(0);
    expect(() => timers.runNext()).toThrow(/no timer/);
  });
});

/** An upstream whose answers the test gives by hand, one per call. */
class FakeUpstream implements BatchSource {
  readonly calls: Array<{ batchId: string; call: CallOptions; resolve: (d: DecodedBatchDetail) => void; reject: (e: unknown) => void }> = [];

  getBatch(batchId: string, call: CallOptions = {}): Promise<DecodedBatchDetail> {
    return new Promise((resolve, reject) => this.calls.push({ batchId, call, resolve, reject }));
  }

  last(): FakeUpstream['calls'][number] {
    const call = this.calls.at(-1);
    if (call === undefined) throw new Error('no call yet');
    return call;
  }
}

function setup(overrides: { maxBatches?: number; maxSubscriptions?: number; claimTimeoutMs?: number } = {}) {
  const upstream = new FakeUpstream();
  const timers = new ManualTimers();
  const watch = new BatchWatch({
    upstream,
    timers,
    logger: createLogger({ level: 'silent' }),
    reportUnknownEnum: () => undefined,
    pollIntervalMs: 1_000,
    maxBackoffMs: 8_000,
    maxBatches: overrides.maxBatches ?? 10,
    maxSubscriptions: overrides.maxSubscriptions ?? 10,
    pollTimeoutMs: 5_000,
    claimTimeoutMs: overrides.claimTimeoutMs,
  });
  return { upstream, timers, watch };
}

/** Reads what a subscription has for now (events queued or arriving in this tick), then whether it ended. */
async function drain(iterator: AsyncIterator<LiveEvent>): Promise<{ events: LiveEvent[]; done: boolean }> {
  const events: LiveEvent[] = [];
  for (;;) {
    const next = await Promise.race([iterator.next(), new Promise<'idle'>((resolve) => setTimeout(() => resolve('idle'), 20))]);
    if (next === 'idle') return { events, done: false };
    if (next.done === true) return { events, done: true };
    events.push(next.value);
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

function summary(events: LiveEvent[]): string[] {
  return events.map((e) => (e.kind === 'update' ? `${e.batch.status}/${e.batch.totalCallsDispatched}` : e.error.code));
}

describe('BatchWatch scheduling', () => {
  it('one poll for all subscribers; later ones get the latest result; unchanged polls emit nothing; changes reach all in order', async () => {
    const { upstream, timers, watch } = setup();
    const a = watch.subscribe('btcal_1');
    const b = watch.subscribe('btcal_1');
    expect(upstream.calls).toHaveLength(1);
    const { call } = upstream.last();
    expect(call.fresh).toBe(true);
    expect(call.signal?.aborted).toBe(false);
    expect(call.deadline).toBeGreaterThan(Date.now() + 4_000);
    expect(call.deadline).toBeLessThanOrEqual(Date.now() + 5_000);

    upstream.last().resolve(detail({ dispatched: 1 }));
    await settle();
    expect(timers.pendingDelays()).toEqual([1_000]);
    const c = watch.subscribe('btcal_1');
    expect(upstream.calls).toHaveLength(1);

    timers.runNext();
    upstream.last().resolve(detail({ dispatched: 1 }));
    await settle();
    timers.runNext();
    upstream.last().resolve(detail({ dispatched: 2 }));
    await settle();
    timers.runNext();
    upstream.last().resolve(detail({ status: 'completed', dispatched: 3, finished: 3 }));
    await settle();
    expect(upstream.calls).toHaveLength(4);
    expect(timers.pending).toBe(0);

    const [ra, rb, rc] = await Promise.all([drain(a), drain(b), drain(c)]);
    expect(summary(ra.events)).toEqual(['IN_PROGRESS/1', 'IN_PROGRESS/2', 'COMPLETED/3']);
    expect(summary(rb.events)).toEqual(summary(ra.events));
    expect(summary(rc.events)).toEqual(summary(ra.events));
    expect([ra.done, rb.done, rc.done]).toEqual([true, true, true]);
    expect(watch.stats).toEqual({ batches: 0, subscriptions: 0, polls: 4, failedPolls: 0 });
  });

  it('the last subscriber leaving clears the timer and aborts the poll in flight; one leaving of two changes nothing', async () => {
    const { upstream, timers, watch } = setup();
    const a = watch.subscribe('btcal_1');
    const b = watch.subscribe('btcal_1');
    upstream.last().resolve(detail());
    await settle();
    await b.return?.();
    expect(timers.pending).toBe(1);
    timers.runNext();
    expect(upstream.calls).toHaveLength(2);
    const inFlight = upstream.last().call.signal;
    await a.return?.();
    expect(inFlight?.aborted).toBe(true);
    upstream.last().reject(new Error('aborted'));
    await settle();
    expect(timers.pending).toBe(0);
    expect(watch.stats).toMatchObject({ batches: 0, subscriptions: 0 });
    expect((await a.next()).done).toBe(true);

    const idle = watch.subscribe('btcal_1');
    await idle.return?.();
    upstream.last().resolve(detail());
    await settle();
    expect(timers.pending).toBe(0);
  });

  it('backs off while polls fail, silently, and is back to the interval after a success', async () => {
    const { upstream, timers, watch } = setup();
    const a = watch.subscribe('btcal_1');
    upstream.last().resolve(detail({ dispatched: 1 }));
    await settle();
    const delays: number[] = [];
    for (let failure = 0; failure < 5; failure += 1) {
      delays.push(timers.runNext());
      upstream.last().reject(new UpstreamError('UPSTREAM_UNAVAILABLE', 'down'));
      await settle();
    }
    delays.push(...timers.pendingDelays());
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
    timers.runNext();
    upstream.last().resolve(detail({ dispatched: 2 }));
    await settle();
    expect(timers.pendingDelays()).toEqual([1_000]);
    expect(summary((await drain(a)).events)).toEqual(['IN_PROGRESS/1', 'IN_PROGRESS/2']);
    expect(watch.stats.failedPolls).toBe(5);
    await a.return?.();
  });

  it('a transient failure before the first success leaves new subscribers waiting for the next poll', async () => {
    const { upstream, timers, watch } = setup();
    const a = watch.subscribe('btcal_1');
    upstream.last().reject(new UpstreamError('UPSTREAM_TIMEOUT', 'slow'));
    await settle();
    const b = watch.subscribe('btcal_1');
    expect(upstream.calls).toHaveLength(1);
    expect(timers.pendingDelays()).toEqual([2_000]);
    timers.runNext();
    upstream.last().resolve(detail());
    await settle();
    expect(summary((await drain(a)).events)).toEqual(['IN_PROGRESS/1']);
    expect(summary((await drain(b)).events)).toEqual(['IN_PROGRESS/1']);
    await Promise.all([a.return?.(), b.return?.()]);
  });

  it('NOT_FOUND and UPSTREAM_UNAUTHORIZED end every subscription on the batch with the error', async () => {
    for (const code of ['UPSTREAM_NOT_FOUND', 'UPSTREAM_UNAUTHORIZED'] as const) {
      const { upstream, timers, watch } = setup();
      const a = watch.subscribe('btcal_1');
      const b = watch.subscribe('btcal_1');
      upstream.last().resolve(detail());
      await settle();
      timers.runNext();
      upstream.last().reject(new UpstreamError(code, 'no'));
      await settle();
      for (const subscription of [a, b]) {
        const { events, done } = await drain(subscription);
        expect(summary(events)).toEqual(['IN_PROGRESS/1', code]);
        expect(done).toBe(true);
      }
      expect(timers.pending).toBe(0);
      expect(watch.stats).toMatchObject({ batches: 0, subscriptions: 0 });
    }
  });

  it('refuses past either cap with TOO_MANY_SUBSCRIPTIONS, and admits again once a slot is free', async () => {
    const { upstream, watch } = setup({ maxBatches: 2, maxSubscriptions: 3 });
    const a = watch.subscribe('btcal_1');
    watch.subscribe('btcal_2');
    const refusal = (fn: () => unknown): unknown => {
      try {
        fn();
      } catch (error) {
        return error instanceof GraphQLError ? error.extensions['code'] : error;
      }
      return 'admitted';
    };
    expect(refusal(() => watch.subscribe('btcal_3'))).toBe('TOO_MANY_SUBSCRIPTIONS');
    watch.subscribe('btcal_1');
    expect(refusal(() => watch.subscribe('btcal_1'))).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(upstream.calls).toHaveLength(2);
    await a.return?.();
    expect(refusal(() => watch.subscribe('btcal_1'))).toBe('admitted');
  });

  it('close() completes every subscription, stops polling, and refuses new ones', async () => {
    const { upstream, timers, watch } = setup();
    const a = watch.subscribe('btcal_1');
    const b = watch.subscribe('btcal_2');
    upstream.calls[0]?.resolve(detail());
    await settle();
    watch.close();
    expect(upstream.calls[1]?.call.signal?.aborted).toBe(true);
    expect(timers.pending).toBe(0);
    expect(await drain(a)).toMatchObject({ done: true });
    expect(await drain(b)).toEqual({ events: [], done: true });
    expect(() => watch.subscribe('btcal_1')).toThrow(/shutting down/);
    expect(watch.stats).toMatchObject({ batches: 0, subscriptions: 0 });
  });

  it('drops a subscription nobody starts reading (a response that was never sent)', async () => {
    const { upstream, timers, watch } = setup({ claimTimeoutMs: 20 });
    watch.subscribe('btcal_1');
    const read = watch.subscribe('btcal_1');
    const first = read.next();
    upstream.last().resolve(detail());
    expect((await first).done).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(watch.stats.subscriptions).toBe(1);
    await read.return?.();
    expect(watch.stats.subscriptions).toBe(0);
    expect(timers.pending).toBe(0);
  });

  it('a slow reader skips the oldest intermediate states, never the latest', async () => {
    const { upstream, timers, watch } = setup();
    const a = watch.subscribe('btcal_1');
    upstream.last().resolve(detail({ dispatched: 0 }));
    await settle();
    for (let n = 1; n <= 100; n += 1) {
      timers.runNext();
      upstream.last().resolve(detail({ dispatched: n }));
      await settle();
    }
    const { events } = await drain(a);
    expect(events).toHaveLength(64);
    expect(summary(events).at(-1)).toBe('IN_PROGRESS/100');
    await a.return?.();
  });
});

describe('live metrics', () => {
  it('reads the watch at scrape time', async () => {
    const { upstream, watch } = setup();
    const metrics = new Metrics();
    metrics.observeLive(watch);
    const a = watch.subscribe('btcal_1');
    watch.subscribe('btcal_1');
    watch.subscribe('btcal_2');
    upstream.calls[0]?.reject(new UpstreamError('UPSTREAM_UNAVAILABLE', 'down'));
    await settle();
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^gateway_live_batches 2$/m);
    expect(text).toMatch(/^gateway_live_subscriptions 3$/m);
    expect(text).toMatch(/^gateway_live_polls_total 2$/m);
    expect(text).toMatch(/^gateway_live_poll_failures_total 1$/m);
    await a.return?.();
    expect(await metrics.registry.metrics()).toMatch(/^gateway_live_subscriptions 2$/m);
    watch.close();
  });
});
