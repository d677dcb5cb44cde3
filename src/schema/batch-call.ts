import type { ArgBuilder } from '@pothos/core';
import { builder } from '../builder.js';
import { asError, type Context } from '../context.js';
import { batchId, upstreamId } from '../input.js';
import { toBatchCallDetail, type BatchCall } from '../model/batch-call.js';
import { resolveBatchList, type BatchCallPage } from '../pagination/batch-list.js';
import type { ScanReport } from '../pagination/filtered-scan.js';
import { BatchCallStatusEnum, TelephonyProviderEnum } from './enums.js';
import { parseBatchCallId } from './ids.js';
import { TelephonyCallConfigRef, WhatsAppParamsRef } from './batch-call-settings.js';

/** One detail GET per distinct id in an operation; the client bounds how many run at once. */
function loadBatchDetails(ids: string[], context: Context): Promise<Array<BatchCall | Error>> {
  return Promise.all(
    ids.map(async (id) => {
      try {
        context.budget.spend();
        return toBatchCallDetail(await context.upstream.getBatch(id, context.call), context.reportUnknownEnum);
      } catch (error) {
        return asError(error);
      }
    }),
  );
}

export const BatchCallRef = builder.loadableNodeRef('BatchCall', {
  id: { resolve: (batch) => batch.batchId, parse: (id) => batchId(id, 'The BatchCall id') },
  load: loadBatchDetails,
});

BatchCallRef.implement({
  description: 'A batch of outbound calls (phone or WhatsApp) made by one agent to a list of recipients.',
  fields: (t) => ({
    batchId: t.exposeString('batchId', { description: 'The upstream id of the batch.' }),
    name: t.exposeString('name', { description: 'Name given to the batch when it was submitted.' }),
    agentId: t.exposeString('agentId', { description: 'The agent that makes the calls.' }),
    agentName: t.exposeString('agentName', { description: 'Name of that agent.' }),
    status: t.expose('status', { type: BatchCallStatusEnum }),
    phoneNumberId: t.exposeString('phoneNumberId', {
      nullable: true,
      description: 'The phone number the calls come from (phone batches).',
    }),
    phoneProvider: t.expose('phoneProvider', { type: TelephonyProviderEnum, nullable: true }),
    whatsappParams: t.expose('whatsappParams', { type: WhatsAppParamsRef, nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    scheduledAt: t.expose('scheduledAt', { type: 'DateTime', description: 'When the batch starts (or started) calling.' }),
    lastUpdatedAt: t.expose('lastUpdatedAt', { type: 'DateTime' }),
    timezone: t.exposeString('timezone', { nullable: true, description: 'Time zone the schedule is expressed in.' }),
    totalCallsDispatched: t.exposeInt('totalCallsDispatched', { description: 'Calls handed to the provider so far.' }),
    totalCallsScheduled: t.exposeInt('totalCallsScheduled', { description: 'Calls the batch will make in all.' }),
    totalCallsFinished: t.exposeInt('totalCallsFinished', {
      nullable: true,
      description: 'Calls that have ended, whatever their outcome (null when the upstream did not say).',
    }),
    retryCount: t.exposeInt('retryCount', { description: 'How many times the batch has been retried.' }),
    targetConcurrencyLimit: t.exposeInt('targetConcurrencyLimit', {
      nullable: true,
      description:
        'Maximum simultaneous calls for this batch. When set, dispatch follows this limit rather than workspace or agent capacity shares.',
    }),
    telephonyCallConfig: t.expose('telephonyCallConfig', { type: TelephonyCallConfigRef, nullable: true }),
    branchId: t.exposeString('branchId', { nullable: true, description: 'The agent branch (version line) used.' }),
    branchName: t.exposeString('branchName', { nullable: true, description: 'Name of that branch.' }),
    environment: t.exposeString('environment', { nullable: true, description: 'Agent environment the batch runs in.' }),
  }),
});

const BatchCallScanRef = builder.objectRef<ScanReport>('BatchCallScan');

BatchCallScanRef.implement({
  description: 'How much of the upstream list one page of `batchCalls` read.',
  fields: (t) => ({
    pagesRead: t.exposeInt('pagesRead', {
      description:
        'Upstream list pages read for this page: without a filter 1 (2 when `after` points so deep into an upstream ' +
        'page that the page runs past its end); with a filter, up to FILTER_PAGE_BUDGET.',
    }),
    stoppedEarly: t.exposeBoolean('stoppedEarly', {
      description:
        'True when the page budget (FILTER_PAGE_BUDGET) ended the scan before `first` matches and before the end of ' +
        'the list: there may be more matches further on, and `pageInfo.endCursor` continues the scan.',
    }),
  }),
});

/** Pages of batch calls, with `scan`: how much of the upstream list a page read. */
export const BatchCallConnection = builder.connectionObject<typeof BatchCallRef, BatchCallPage>(
  {
    type: BatchCallRef,
    name: 'BatchCallConnection',
    fields: (t) => ({
      scan: t.field({ type: BatchCallScanRef, description: 'How much of the upstream list this page read.', resolve: (page) => page.scan }),
    }),
  },
  { name: 'BatchCallEdge' },
);

/** The gateway-side filter of the batch lists (validated by `batchCallFilter` in input.ts). */
export const BatchCallFilterRef = builder.inputType('BatchCallFilter', {
  description:
    'Criteria the gateway applies to the upstream batch list itself (the upstream filters by agent only). Every ' +
    'criterion is optional and they combine with AND; a filter that sets none is the same as no filter. Ranges ' +
    'include their `...After` time and exclude their `...Before` time.',
  fields: (t) => ({
    status: t.field({ type: [BatchCallStatusEnum], description: 'Only batches in one of these statuses (at least one).' }),
    createdAfter: t.field({ type: 'DateTime', description: 'Only batches created at or after this time.' }),
    createdBefore: t.field({ type: 'DateTime', description: 'Only batches created before this time.' }),
    scheduledAfter: t.field({ type: 'DateTime', description: 'Only batches scheduled to start at or after this time.' }),
    scheduledBefore: t.field({ type: 'DateTime', description: 'Only batches scheduled to start before this time.' }),
    nameContains: t.string({
      description:
        'Only batches whose name contains this text, 1 to 200 characters, ignoring case and Unicode normalization ' +
        '("straße" finds "STRASSE", "É" finds "é").',
    }),
  }),
});

type Types = typeof builder.$inferSchemaTypes;

/** `first`, `after` and `filter`: the arguments of every batch list (Query.batchCalls, Agent.batchCalls). */
export function batchListArgs(arg: ArgBuilder<Types>) {
  return {
    first: arg.int({ description: 'Page size: 1 to 100, default 20. With a filter: matches wanted.' }),
    after: arg.string({ description: 'An `endCursor` or edge `cursor` from an earlier page of the same list (same agent and filter).' }),
    filter: arg({ type: BatchCallFilterRef, description: 'Criteria the gateway applies while it reads the upstream list.' }),
  };
}

/** How the list fields describe their paging, filtered or not. */
export const BATCH_LIST_PAGING =
  'Without `filter`, one upstream call per page. With `filter`, the gateway reads upstream pages of 100 in order and ' +
  'keeps the matches, until it has `first` of them, reaches the end of the list, or has read FILTER_PAGE_BUDGET pages ' +
  '(`scan` reports which). Unlike strict Relay, a filtered page\'s `pageInfo.endCursor` is where the scan stopped: it ' +
  'can lie past the last edge (past batches read that did not match, or at the next unread page when the budget ended ' +
  'the scan, even with no edge at all). Pass it as `after` to continue with no gap and no rereading. `hasNextPage` then ' +
  'says the list goes on past that point, not that a further match is certain. Edge cursors resume right after their edge.';

builder.queryFields((t) => {
  const list = batchListArgs(t.arg);
  return {
    batchCall: t.field({
      type: BatchCallRef,
      nullable: true,
      description: 'One batch call with its details. Null, with a NOT_FOUND error, when the upstream does not know it.',
      args: { id: t.arg.id({ required: true, description: 'A BatchCall global ID or a raw upstream batch id.' }) },
      resolve: (_root, { id }) => parseBatchCallId(id),
    }),
    batchCalls: t.field({
      type: BatchCallConnection,
      description: `The workspace's batch calls, newest first, paged over the upstream list. ${BATCH_LIST_PAGING}`,
      args: {
        first: list.first,
        after: list.after,
        agentId: t.arg.string({ description: "Only this agent's batches (filtered by the upstream itself)." }),
        filter: list.filter,
      },
      resolve: (_root, args, context) => {
        const agentId = args.agentId === null || args.agentId === undefined ? null : upstreamId(args.agentId, '`agentId`');
        return resolveBatchList(args, agentId, context);
      },
    }),
  };
});
