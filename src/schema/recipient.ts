import { builder } from '../builder.js';
import { InputError, pageSize } from '../input.js';
import type { RecipientStatus } from '../model/enums.js';
import { statusFilterKey, type Recipient } from '../model/recipient-list.js';
import { decodeRecipientCursor, encodeRecipientCursor } from '../pagination/cursors.js';
import { BatchCallRef } from './batch-call.js';
import { ConversationInitiationClientDataRef } from './conversation-initiation.js';
import { RecipientStatusEnum } from './enums.js';
import { notFound } from './errors.js';
import { parseRecipientKey, recipientKey } from './global-id.js';

export const RecipientRef = builder.objectRef<Recipient>('Recipient');

builder.node(RecipientRef, {
  description: 'One recipient of a batch call: who is called, and how that call went.',
  id: { resolve: (recipient) => recipientKey(recipient.batchId, recipient.recipientId) },
  loadOne: async (key, context) => {
    const { batchId, recipientId } = parseRecipientKey(key);
    const batch = await BatchCallRef.getDataloader(context).load(batchId);
    const recipient = batch.recipients?.find(recipientId) ?? null;
    if (recipient === null) throw notFound('Recipient not found');
    return recipient;
  },
  fields: (t) => ({
    recipientId: t.exposeString('recipientId', { description: 'The upstream id of the recipient.' }),
    phoneNumber: t.exposeString('phoneNumber', { nullable: true, description: 'Number called (phone batches), E.164.' }),
    whatsappUserId: t.exposeString('whatsappUserId', { nullable: true, description: 'WhatsApp user called (WhatsApp batches).' }),
    status: t.expose('status', { type: RecipientStatusEnum }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    conversationId: t.exposeString('conversationId', {
      nullable: true,
      description: 'The conversation of this call, once it has started.',
    }),
    dynamicVariables: t.expose('dynamicVariables', {
      type: 'JSON',
      nullable: true,
      description: 'Values substituted into the agent prompt for this recipient.',
    }),
    conversationInitiationClientData: t.expose('conversationInitiationClientData', {
      type: ConversationInitiationClientDataRef,
      nullable: true,
    }),
  }),
});

const RecipientConnection = builder.connectionObject(
  {
    type: RecipientRef,
    name: 'RecipientConnection',
    fields: (t) => ({
      totalCount: t.int({
        description: 'Recipients in the whole list (matching the status filter, when one is given).',
        resolve: ({ totalCount }) => {
          if (totalCount === undefined) throw new Error('RecipientConnection resolved without a totalCount');
          return totalCount;
        },
      }),
    }),
  },
  { name: 'RecipientEdge' },
);

builder.objectField(BatchCallRef, 'recipients', (t) =>
  t.field({
    type: RecipientConnection,
    nullable: true,
    description:
      "The batch's recipients in upstream order, paged in the gateway. On a list item this needs the batch's detail: " +
      'one upstream call per batch, deduplicated within the operation.',
    args: {
      first: t.arg.int({ description: 'Page size: 1 to 100, default 20.' }),
      after: t.arg.string({ description: 'A cursor from an earlier page with the same filter.' }),
      status: t.arg({ type: [RecipientStatusEnum], description: 'Only recipients in one of these statuses.' }),
    },
    resolve: async (batch, args, context) => {
      const first = pageSize(args.first);
      const filter: readonly RecipientStatus[] | null = args.status === null || args.status === undefined ? null : args.status;
      const key = statusFilterKey(filter);
      const cursor = args.after === null || args.after === undefined ? null : decodeRecipientCursor(args.after);
      if (cursor !== null && cursor.filter !== key) {
        throw new InputError('`after` is a cursor of a list with a different `status` filter');
      }
      const offset = cursor?.offset ?? 0;
      const list = batch.recipients ?? (await BatchCallRef.getDataloader(context).load(batch.batchId)).recipients;
      if (list === null) throw new Error('batch detail without recipients');
      const totalCount = list.count(filter);
      const items = list.slice(filter, offset, first);
      const edges = items.map((node, index) => ({
        node,
        cursor: encodeRecipientCursor({ offset: offset + index + 1, filter: key }),
      }));
      return {
        totalCount,
        edges,
        pageInfo: {
          hasNextPage: offset + items.length < totalCount,
          hasPreviousPage: offset > 0,
          startCursor: edges[0]?.cursor ?? null,
          endCursor: edges.at(-1)?.cursor ?? null,
        },
      };
    },
  }),
);
