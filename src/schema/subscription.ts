import { builder } from '../builder.js';
import type { Context } from '../context.js';
import type { LiveEvent } from '../live/batch-watch.js';
import type { CallOptions } from '../upstream/client.js';
import { BatchCallRef } from './batch-call.js';
import { notFound } from './errors.js';
import { parseBatchCallId } from './ids.js';

/**
 * A subscription lives far longer than one operation's time budget, but the context it runs in
 * (its `call`, with the deadline app.ts set when the request arrived) is the same for every event.
 * Each event therefore starts a fresh budget of the same length, so that a field resolved per
 * event that calls the upstream does not fail only because the subscription is old. (The
 * operation's upstream-call budget, UpstreamBudget, is renewed too: each event is priced like one
 * operation, as the estimate in upstream-cost.ts prices it.)
 */
const eventBudgetMs = new WeakMap<CallOptions, number>();

function startEventBudgets(call: CallOptions): void {
  if (call.deadline !== undefined && !eventBudgetMs.has(call)) eventBudgetMs.set(call, Math.max(0, call.deadline - Date.now()));
}

/**
 * Before each event is resolved: a fresh deadline, and the operation's loaders emptied, so that a
 * field that loads upstream data per event (an agent's batch list, a batch's detail) reads it as
 * it is now rather than as the loaders kept it from the first event.
 */
function startEvent(context: Context): void {
  const budgetMs = eventBudgetMs.get(context.call);
  if (budgetMs !== undefined) context.call.deadline = Date.now() + budgetMs;
  context.budget.renew();
  context.batchPages.clearAll();
  BatchCallRef.getDataloader(context).clearAll();
}

builder.subscriptionType({
  description: 'Live updates, streamed over Server-Sent Events (POST or GET /graphql with `Accept: text/event-stream`).',
});

builder.subscriptionField('batchCallUpdated', (t) =>
  t.field({
    type: BatchCallRef,
    description:
      'The batch now, then again whenever its status, counts or recipients change; completes after a terminal status ' +
      '(COMPLETED, FAILED, CANCELLED). The gateway polls each watched batch upstream once per interval however many ' +
      'clients watch it, and backs off while the upstream fails. Ends with NOT_FOUND when the batch does not exist; ' +
      'refused with TOO_MANY_SUBSCRIPTIONS past the gateway\'s limits.',
    args: { id: t.arg.id({ required: true, description: 'A BatchCall global ID or a raw upstream batch id.' }) },
    subscribe: (_root, { id }, context) => {
      // A bad id is refused here, before anything is polled.
      const batchId = parseBatchCallId(id);
      startEventBudgets(context.call);
      return context.services.live.subscribe(batchId);
    },
    resolve: (event: LiveEvent, { id }, context) => {
      startEvent(context);
      if (event.kind === 'update') return event.batch;
      if (event.error.code === 'UPSTREAM_NOT_FOUND') throw notFound(`Batch call ${parseBatchCallId(id)} does not exist`);
      // Mapped to its code by the error masker (UPSTREAM_UNAUTHORIZED, BAD_USER_INPUT).
      throw event.error;
    },
  }),
);
