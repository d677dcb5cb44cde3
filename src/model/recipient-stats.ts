import { RECIPIENT_STATUSES, type BatchCallStatus, type RecipientStatus } from './enums.js';

/** How many recipients are in one status. */
export interface RecipientStatusCount {
  status: RecipientStatus;
  count: number;
}

/** Recipients per status, every status present (zeros included). */
export type RecipientCounts = Readonly<Record<RecipientStatus, number>>;

/**
 * Where a batch's recipients stand, for dashboards and progress bars. Exact figures: rates and
 * progress are plain ratios, never rounded (clients format them).
 */
export interface RecipientStats {
  total: number;
  /** Every recipient status in enum order, zeros included. */
  byStatus: readonly RecipientStatusCount[];
  counts: RecipientCounts;
  /** DISPATCHED + INITIATED + IN_PROGRESS: calls under way. */
  active: number;
  /** COMPLETED + FAILED + CANCELLED + VOICEMAIL: calls that will not change any more. */
  finished: number;
  /** completed ÷ finished; null while nothing has finished. */
  completionRate: number | null;
  /** failed ÷ finished; null while nothing has finished. */
  failureRate: number | null;
  /** finished ÷ total, 0 to 1; with no recipients, 1 once the batch is terminal, else 0. */
  progress: number;
}

/** Recipient statuses a call does not leave (VOICEMAIL is an outcome: the call ended on a machine). */
export const FINISHED_RECIPIENT_STATUSES: readonly RecipientStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED', 'VOICEMAIL'];

/** Recipient statuses of a call under way. */
export const ACTIVE_RECIPIENT_STATUSES: readonly RecipientStatus[] = ['DISPATCHED', 'INITIATED', 'IN_PROGRESS'];

/** Batch statuses a batch does not leave. */
export const TERMINAL_BATCH_STATUSES: readonly BatchCallStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** Counts each status of the list (one pass), every status present. */
export function countRecipientStatuses(statuses: readonly RecipientStatus[]): RecipientCounts {
  const counts = Object.fromEntries(RECIPIENT_STATUSES.map((status) => [status, 0])) as Record<RecipientStatus, number>;
  for (const status of statuses) counts[status] += 1;
  return counts;
}

/**
 * The stats of a batch's recipients from their counts. The batch's own status only matters for a
 * batch without recipients, whose progress would otherwise be 0 ÷ 0.
 */
export function toRecipientStats(counts: RecipientCounts, batchStatus: BatchCallStatus): RecipientStats {
  const sum = (statuses: readonly RecipientStatus[]): number => statuses.reduce((total, status) => total + counts[status], 0);
  const total = sum(RECIPIENT_STATUSES);
  const finished = sum(FINISHED_RECIPIENT_STATUSES);
  const ratio = (part: number): number | null => (finished === 0 ? null : part / finished);
  return {
    total,
    byStatus: RECIPIENT_STATUSES.map((status) => ({ status, count: counts[status] })),
    counts,
    active: sum(ACTIVE_RECIPIENT_STATUSES),
    finished,
    completionRate: ratio(counts.COMPLETED),
    failureRate: ratio(counts.FAILED),
    progress: total === 0 ? (TERMINAL_BATCH_STATUSES.includes(batchStatus) ? 1 : 0) : finished / total,
  };
}
