import { createHash } from 'node:crypto';
import type { BatchCall } from '../model/batch-call.js';
import type { BatchCallStatus } from '../model/enums.js';

/**
 * The gateway's own filter on the batch list: criteria the upstream list cannot apply, checked on
 * each item the gateway reads. Built from client input by `batchCallFilter` (input.ts), which
 * validates it and puts it in canonical form, so equal filters have equal fingerprints.
 */

/** A half-open time range: `after` inclusive, `before` exclusive; null = unbounded on that side. */
export interface TimeRange {
  readonly after: Date | null;
  readonly before: Date | null;
}

/** A validated, canonical filter. At least one criterion is set. */
export interface BatchCallFilter {
  /** Sorted, without duplicates; null = any status. */
  readonly statuses: readonly BatchCallStatus[] | null;
  readonly created: TimeRange;
  readonly scheduled: TimeRange;
  /** Case-folded (`foldCase`); null = any name. */
  readonly nameContains: string | null;
}

/**
 * Unicode case folding for "contains" matches: compatibility-normalized (so a composed "é" and an
 * "e" with a combining accent agree), upper- then lower-cased (so "ß" matches "SS"), with the
 * Greek final sigma and the Turkish dotted capital I read as their plain letters.
 */
export function foldCase(text: string): string {
  return text.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFC').replace(/ς/g, 'σ').replace(/i\u0307/g, 'i');
}

/** A predicate for the filter; the name criterion folds each batch name once per check. */
export function batchMatcher(filter: BatchCallFilter): (batch: BatchCall) => boolean {
  const statuses = filter.statuses === null ? null : new Set<BatchCallStatus>(filter.statuses);
  const needle = filter.nameContains;
  return (batch) =>
    (statuses === null || statuses.has(batch.status)) &&
    inRange(batch.createdAt, filter.created) &&
    inRange(batch.scheduledAt, filter.scheduled) &&
    (needle === null || foldCase(batch.name).includes(needle));
}

function inRange(at: Date, { after, before }: TimeRange): boolean {
  const time = at.getTime();
  return (after === null || time >= after.getTime()) && (before === null || time < before.getTime());
}

/**
 * What a filtered cursor is bound to: the filter and the agent of the list it came from. A short
 * digest keeps cursors small whatever the filter (a name of 200 characters, many statuses).
 */
export function filterFingerprint(filter: BatchCallFilter, agentId: string | null): string {
  const time = (date: Date | null): number | null => (date === null ? null : date.getTime());
  const canonical = JSON.stringify([
    agentId,
    filter.statuses,
    time(filter.created.after),
    time(filter.created.before),
    time(filter.scheduled.after),
    time(filter.scheduled.before),
    filter.nameContains,
  ]);
  return createHash('sha256').update(canonical, 'utf8').digest('base64url').slice(0, FINGERPRINT_LENGTH);
}

/** 22 base64url characters: 132 bits, far past any accidental collision. */
export const FINGERPRINT_LENGTH = 22;
