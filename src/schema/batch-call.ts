import { builder } from '../builder.js';
import { asError, type Context } from '../context.js';
import { InputError, batchId, pageSize, upstreamId } from '../input.js';
import { toBatchCallDetail, type BatchCall } from '../model/batch-call.js';
import { decodeBatchCursor, encodeBatchCursor } from '../pagination/cursors.js';
import { readWindow } from '../pagination/upstream-window.js';
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

export const BatchCallConnection = builder.connectionObject(
  { type: BatchCallRef, name: 'BatchCallConnection' },
  { name: 'BatchCallEdge' },
);

builder.queryFields((t) => ({
  batchCall: t.field({
    type: BatchCallRef,
    nullable: true,
    description: 'One batch call with its details. Null, with a NOT_FOUND error, when the upstream does not know it.',
    args: { id: t.arg.id({ required: true, description: 'A BatchCall global ID or a raw upstream batch id.' }) },
    resolve: (_root, { id }) => parseBatchCallId(id),
  }),
  batchCalls: t.field({
    type: BatchCallConnection,
    description: "The workspace's batch calls, newest first, paged over the upstream list.",
    args: {
      first: t.arg.int({ description: 'Page size: 1 to 100, default 20.' }),
      after: t.arg.string({ description: 'An `endCursor` or edge `cursor` from an earlier page.' }),
      agentId: t.arg.string({ description: "Only this agent's batches." }),
    },
    resolve: async (_root, args, context) => {
      const first = pageSize(args.first);
      const agentId = args.agentId === null || args.agentId === undefined ? null : upstreamId(args.agentId, '`agentId`');
      const start = args.after === null || args.after === undefined
        ? { lastDoc: null, skip: 0, agentId }
        : decodeBatchCursor(args.after);
      if (start.agentId !== agentId) throw new InputError('`after` is a cursor of a list with a different `agentId`');
      return readWindow({
        start,
        first,
        fetchPage: (lastDoc, limit) => context.batchPages.load({ limit, lastDoc, agentId }),
        encodeCursor: (position) => encodeBatchCursor({ ...position, agentId }),
      });
    },
  }),
}));
