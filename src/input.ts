import type { BatchCallStatus } from './model/enums.js';
import { foldCase, type BatchCallFilter, type TimeRange } from './pagination/batch-filter.js';

/**
 * Validation of untrusted client input at the edge, before anything reaches the upstream.
 * Failures are InputErrors, which the schema reports as BAD_USER_INPUT with this message.
 */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export const PAGE_SIZE = { default: 20, min: 1, max: 100 } as const;

/** `first` of a connection: default 20, 1 to 100; out of range is an error, never a clamp. */
export function pageSize(first: number | null | undefined, argument = 'first'): number {
  if (first === null || first === undefined) return PAGE_SIZE.default;
  if (!Number.isInteger(first) || first < PAGE_SIZE.min || first > PAGE_SIZE.max) {
    throw new InputError(`\`${argument}\` must be between ${PAGE_SIZE.min} and ${PAGE_SIZE.max} (got ${first})`);
  }
  return first;
}

const UPSTREAM_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** An upstream id (batch, agent, recipient): letters, digits, `_` and `-`, at most 128 characters. */
export function upstreamId(value: string, what: string): string {
  if (!UPSTREAM_ID.test(value)) {
    throw new InputError(`${what} must be 1 to 128 letters, digits, "_" or "-"`);
  }
  return value;
}

export function isUpstreamId(value: string): boolean {
  return UPSTREAM_ID.test(value);
}

/** Path segments the batch-calling API uses for other endpoints; never a batch id. */
const RESERVED_BATCH_SEGMENTS = new Set(['workspace', 'submit']);

/** A batch id: an upstream id that cannot name another endpoint under the same path. */
export function isBatchId(value: string): boolean {
  return isUpstreamId(value) && !RESERVED_BATCH_SEGMENTS.has(value);
}

export function batchId(value: string, what: string): string {
  if (!isBatchId(value)) throw new InputError(`${what} must be an upstream batch id (letters, digits, "_" or "-", at most 128)`);
  return value;
}

/** `BatchCallFilter.nameContains`: a substring of 1 to 200 characters (Unicode code points). */
export const NAME_CONTAINS_LENGTH = { min: 1, max: 200 } as const;

/** `BatchCallFilter` as the schema hands it over: every criterion optional. */
export interface BatchCallFilterInput {
  status?: readonly BatchCallStatus[] | null | undefined;
  createdAfter?: Date | null | undefined;
  createdBefore?: Date | null | undefined;
  scheduledAfter?: Date | null | undefined;
  scheduledBefore?: Date | null | undefined;
  nameContains?: string | null | undefined;
}

/**
 * A batch filter, validated and canonical (statuses sorted and deduplicated, name case-folded), or
 * null when no criterion is set: `filter: {}` lists exactly what no filter lists, with the same cursors.
 * Refused, naming the field: an empty status list, a range whose start is not before its end, a
 * name outside 1 to 200 characters.
 */
export function batchCallFilter(input: BatchCallFilterInput | null | undefined, argument = 'filter'): BatchCallFilter | null {
  if (input === null || input === undefined) return null;
  const statuses = input.status ?? null;
  if (statuses !== null && statuses.length === 0) {
    throw new InputError(`\`${argument}.status\` must list at least one status (leave it out for every status)`);
  }
  const created = timeRange(input.createdAfter, input.createdBefore, `${argument}.created`);
  const scheduled = timeRange(input.scheduledAfter, input.scheduledBefore, `${argument}.scheduled`);
  const name = input.nameContains ?? null;
  if (name !== null) {
    const length = [...name].length;
    if (length < NAME_CONTAINS_LENGTH.min || length > NAME_CONTAINS_LENGTH.max) {
      throw new InputError(
        `\`${argument}.nameContains\` must be ${NAME_CONTAINS_LENGTH.min} to ${NAME_CONTAINS_LENGTH.max} characters (got ${length})`,
      );
    }
  }
  if (statuses === null && name === null && isOpen(created) && isOpen(scheduled)) return null;
  return {
    statuses: statuses === null ? null : [...new Set(statuses)].sort(),
    created,
    scheduled,
    nameContains: name === null ? null : foldCase(name),
  };
}

function timeRange(after: Date | null | undefined, before: Date | null | undefined, prefix: string): TimeRange {
  const range = { after: after ?? null, before: before ?? null };
  if (range.after !== null && range.before !== null && range.after.getTime() >= range.before.getTime()) {
    throw new InputError(`\`${prefix}After\` must be earlier than \`${prefix}Before\` (the range would be empty)`);
  }
  return range;
}

function isOpen(range: TimeRange): boolean {
  return range.after === null && range.before === null;
}
