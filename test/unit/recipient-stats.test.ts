import { describe, expect, it, vi } from 'vitest';
import { RECIPIENT_STATUSES, type RecipientStatus, type UnknownEnumReporter } from '../../src/model/enums.js';
import { RecipientList, type RecipientSource } from '../../src/model/recipient-list.js';
import { countRecipientStatuses, toRecipientStats } from '../../src/model/recipient-stats.js';
import type { WireRecipient } from '../../src/upstream/types.js';

const wire = (id: string, status: string): WireRecipient =>
  ({ id, status, created_at_unix: 1_700_000_000, updated_at_unix: 1_700_000_060, conversation_id: null });

describe('countRecipientStatuses', () => {
  it('counts every status, zeros included', () => {
    const counts = countRecipientStatuses(['COMPLETED', 'FAILED', 'COMPLETED', 'UNKNOWN']);
    expect(Object.keys(counts)).toEqual([...RECIPIENT_STATUSES]);
    expect(counts).toMatchObject({ COMPLETED: 2, FAILED: 1, UNKNOWN: 1, PENDING: 0, VOICEMAIL: 0 });
  });
});

describe('toRecipientStats', () => {
  const stats = (statuses: RecipientStatus[], batch: 'PENDING' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'UNKNOWN' = 'IN_PROGRESS') =>
    toRecipientStats(countRecipientStatuses(statuses), batch);

  it('gives exact ratios of finished calls, unrounded', () => {
    const s = stats(['COMPLETED', 'FAILED', 'VOICEMAIL', 'PENDING', 'IN_PROGRESS', 'DISPATCHED']);
    expect(s.total).toBe(6);
    expect(s.finished).toBe(3);
    expect(s.active).toBe(2);
    expect(s.completionRate).toBe(1 / 3);
    expect(s.failureRate).toBe(1 / 3);
    expect(s.progress).toBe(0.5);
  });

  it('lists every status in enum order with zeros', () => {
    const s = stats(['CANCELLED', 'CANCELLED', 'UNKNOWN']);
    expect(s.byStatus.map((c) => c.status)).toEqual([...RECIPIENT_STATUSES]);
    expect(s.byStatus.find((c) => c.status === 'CANCELLED')?.count).toBe(2);
    expect(s.byStatus.find((c) => c.status === 'UNKNOWN')?.count).toBe(1);
    expect(s.byStatus.filter((c) => c.count === 0)).toHaveLength(7);
  });

  it('adds up: total = pending + active + finished + unknown', () => {
    const s = stats(['PENDING', 'INITIATED', 'COMPLETED', 'UNKNOWN', 'UNKNOWN']);
    expect(s.counts.PENDING + s.active + s.finished + s.counts.UNKNOWN).toBe(s.total);
    // UNKNOWN is neither finished nor under way.
    expect(s.finished).toBe(1);
    expect(s.progress).toBe(1 / 5);
  });

  it('has no rates while nothing finished', () => {
    const s = stats(['PENDING', 'IN_PROGRESS']);
    expect(s.completionRate).toBeNull();
    expect(s.failureRate).toBeNull();
    expect(s.progress).toBe(0);
  });

  it('is complete when every call finished', () => {
    const s = stats(['COMPLETED', 'COMPLETED', 'FAILED', 'CANCELLED'], 'COMPLETED');
    expect(s.progress).toBe(1);
    expect(s.completionRate).toBe(0.5);
    expect(s.failureRate).toBe(0.25);
  });

  it('takes progress of an empty batch from its status', () => {
    for (const status of ['COMPLETED', 'FAILED', 'CANCELLED'] as const) expect(stats([], status).progress).toBe(1);
    for (const status of ['PENDING', 'IN_PROGRESS', 'UNKNOWN'] as const) expect(stats([], status).progress).toBe(0);
    expect(stats([], 'COMPLETED')).toMatchObject({ total: 0, finished: 0, completionRate: null, failureRate: null });
  });
});

describe('RecipientList.stats', () => {
  it('is worked out once per decoded array, whatever the number of lists over it', () => {
    const recipients = ['completed', 'failed', 'mystery', 'pending'].map((status, i) => wire(`r${i}`, status));
    const get = vi.fn(() => recipients);
    const source: RecipientSource = { get };
    const report = vi.fn<UnknownEnumReporter>();
    const first = new RecipientList('btcal_1', source, report).stats('IN_PROGRESS');
    const second = new RecipientList('btcal_1', source, report).stats('IN_PROGRESS');
    expect(second).toBe(first);
    expect(first).toMatchObject({ total: 4, finished: 2, completionRate: 0.5, failureRate: 0.5, progress: 0.5 });
    expect(first.counts.UNKNOWN).toBe(1);
    // The unknown value was mapped (and reported) once, when the statuses were derived.
    expect(report).toHaveBeenCalledTimes(1);
  });

  it('does not confuse two arrays', () => {
    const a = new RecipientList('a', { get: () => [wire('r0', 'completed')] }, () => undefined);
    const b = new RecipientList('b', { get: () => [wire('r0', 'failed')] }, () => undefined);
    expect(a.stats('COMPLETED').counts.COMPLETED).toBe(1);
    expect(b.stats('COMPLETED').counts.FAILED).toBe(1);
  });

  it('keeps a separate answer per batch status (only an empty list differs)', () => {
    const empty = new RecipientList('e', { get: () => [] }, () => undefined);
    expect(empty.stats('PENDING').progress).toBe(0);
    expect(empty.stats('CANCELLED').progress).toBe(1);
  });
});
