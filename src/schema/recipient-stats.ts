import { builder } from '../builder.js';
import type { RecipientStatus } from '../model/enums.js';
import type { RecipientStats, RecipientStatusCount } from '../model/recipient-stats.js';
import { BatchCallRef } from './batch-call.js';
import { RecipientStatusEnum } from './enums.js';

const RecipientStatusCountRef = builder.objectRef<RecipientStatusCount>('RecipientStatusCount');

RecipientStatusCountRef.implement({
  description: 'How many recipients of a batch are in one status.',
  fields: (t) => ({
    status: t.expose('status', { type: RecipientStatusEnum }),
    count: t.exposeInt('count'),
  }),
});

const RecipientStatsRef = builder.objectRef<RecipientStats>('RecipientStats');

RecipientStatsRef.implement({
  description:
    "Where a batch's recipients stand, counted from the batch's detail. Figures are exact: rates and progress are " +
    'plain ratios, never rounded. `total` = pending + active + finished + unknown.',
  fields: (t) => {
    // One Int per status too, for dashboards that want a figure without scanning `byStatus`.
    const count = (status: RecipientStatus) =>
      t.int({ description: `Recipients in status ${status}.`, resolve: (stats) => stats.counts[status] });
    return {
      total: t.exposeInt('total', { description: 'Recipients of the batch.' }),
      byStatus: t.field({
        type: [RecipientStatusCountRef],
        description: 'Recipients per status: every BatchCallRecipientStatus value in enum order, zeros included.',
        resolve: (stats) => stats.byStatus,
      }),
      pending: count('PENDING'),
      dispatched: count('DISPATCHED'),
      initiated: count('INITIATED'),
      inProgress: count('IN_PROGRESS'),
      completed: count('COMPLETED'),
      failed: count('FAILED'),
      cancelled: count('CANCELLED'),
      voicemail: count('VOICEMAIL'),
      unknown: count('UNKNOWN'),
      active: t.exposeInt('active', { description: 'Calls under way: DISPATCHED + INITIATED + IN_PROGRESS.' }),
      finished: t.exposeInt('finished', {
        description: 'Calls that are over, whatever their outcome: COMPLETED + FAILED + CANCELLED + VOICEMAIL.',
      }),
      completionRate: t.exposeFloat('completionRate', {
        nullable: true,
        description: 'COMPLETED ÷ finished, 0 to 1. Null while no call has finished.',
      }),
      failureRate: t.exposeFloat('failureRate', {
        nullable: true,
        description:
          'FAILED ÷ finished, 0 to 1. Null while no call has finished. completionRate + failureRate is 1 only ' +
          'when no finished call was CANCELLED or went to VOICEMAIL.',
      }),
      progress: t.exposeFloat('progress', {
        description:
          'finished ÷ total, from 0 to 1: the fill of a progress bar. For a batch without recipients: 1 once the batch ' +
          'is COMPLETED, FAILED or CANCELLED, else 0.',
      }),
    };
  },
});

builder.objectField(BatchCallRef, 'recipientStats', (t) =>
  t.field({
    type: RecipientStatsRef,
    nullable: true,
    description:
      "Counts per recipient status, completion and failure rates, and progress. On a list item this needs the batch's " +
      'detail: the same single upstream call as `recipients`, deduplicated within the operation.',
    resolve: async (batch, _args, context) => {
      // The batch status and the recipients of one response, so the two never disagree.
      const detail = batch.recipients === null ? await BatchCallRef.getDataloader(context).load(batch.batchId) : batch;
      if (detail.recipients === null) throw new Error('batch detail without recipients');
      return detail.recipients.stats(detail.status);
    },
  }),
);
