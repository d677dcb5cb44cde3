import { createHash } from 'node:crypto';
import type { DecodedBatchDetail } from '../upstream/decode.js';

/**
 * What a `batchCallUpdated` subscriber is told about: the batch's status, its counts, and each
 * recipient's id, status, update time and conversation. Other fields (name, schedule...) do not
 * move while a batch runs; a poll that finds these equal to the last one emits nothing.
 */
export interface BatchSnapshot {
  /** The upstream's own status string, so that a change between two unknown values still counts. */
  status: string;
  dispatched: number;
  scheduled: number;
  finished: number | null;
  retryCount: number | null;
  recipientCount: number;
  /** A digest of every recipient's (id, status, updated time, conversation id), in upstream order. */
  recipients: string;
}

/** The aspects of a batch that changed between two snapshots. */
export type ChangeKind = 'status' | 'counts' | 'recipients';

/**
 * The snapshot of a polled detail. Reads (and checks) its recipients: throws the upstream error
 * when they cannot be read, which the watch treats like a failed poll.
 */
export function snapshotOf(detail: DecodedBatchDetail): BatchSnapshot {
  const { batch } = detail;
  const recipients = detail.recipients.get();
  const hash = createHash('sha256');
  for (const recipient of recipients) {
    // Unit separators between fields, a record separator after each: no two lists hash alike.
    hash.update(`${recipient.id}\x1f${String(recipient.status)}\x1f${recipient.updated_at_unix}\x1f${recipient.conversation_id ?? ''}\x1e`);
  }
  return {
    status: String(batch.status),
    dispatched: batch.total_calls_dispatched,
    scheduled: batch.total_calls_scheduled,
    finished: numberOrNull(batch.total_calls_finished),
    retryCount: numberOrNull(batch.retry_count),
    recipientCount: recipients.length,
    recipients: hash.digest('base64url'),
  };
}

/** What changed from `previous` to `next`, in a fixed order; empty when nothing a subscriber sees did. */
export function changesBetween(previous: BatchSnapshot, next: BatchSnapshot): ChangeKind[] {
  const changes: ChangeKind[] = [];
  if (previous.status !== next.status) changes.push('status');
  if (previous.dispatched !== next.dispatched || previous.scheduled !== next.scheduled ||
      previous.finished !== next.finished || previous.retryCount !== next.retryCount) {
    changes.push('counts');
  }
  if (previous.recipientCount !== next.recipientCount || previous.recipients !== next.recipients) changes.push('recipients');
  return changes;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
