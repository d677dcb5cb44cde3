import { upstreamPageReader, walkSummary } from '../aggregates/summary-walk.js';
import { builder } from '../builder.js';
import type { Context } from '../context.js';
import { InputError, upstreamId } from '../input.js';
import type { AgentSummary, BatchCallStatusCount, BatchCallsSummary, BatchFigures, SummaryScope } from '../model/summary.js';
import { AgentRef } from './agent.js';
import { BatchCallStatusEnum } from './enums.js';

const BatchCallStatusCountRef = builder.objectRef<BatchCallStatusCount>('BatchCallStatusCount');

BatchCallStatusCountRef.implement({
  description: 'How many batches are in one status.',
  fields: (t) => ({
    status: t.expose('status', { type: BatchCallStatusEnum }),
    count: t.exposeInt('count'),
  }),
});

type Types = typeof builder.$inferSchemaTypes;

/** The figures shared by the whole summary and by each agent's share of it. */
function figureFields<Parent extends BatchFigures>(t: PothosSchemaTypes.ObjectFieldBuilder<Types, Parent>, whose: string) {
  return {
    batchCount: t.int({ description: `${whose} batches counted.`, resolve: (figures) => figures.batchCount }),
    byStatus: t.field({
      type: [BatchCallStatusCountRef],
      description: `${whose} batches per status: every BatchCallStatus value in enum order, zeros included.`,
      resolve: (figures) => figures.byStatus,
    }),
    callsScheduled: t.int({
      description: `Sum of the \`totalCallsScheduled\` of ${whose.toLowerCase()} batches.`,
      resolve: (figures) => figures.callsScheduled,
    }),
    callsDispatched: t.int({
      description: `Sum of the \`totalCallsDispatched\` of ${whose.toLowerCase()} batches.`,
      resolve: (figures) => figures.callsDispatched,
    }),
    callsFinished: t.int({
      description:
        `Sum of the \`totalCallsFinished\` of ${whose.toLowerCase()} batches. A batch whose upstream response omits it ` +
        'adds 0, so with such batches this is a lower bound.',
      resolve: (figures) => figures.callsFinished,
    }),
  };
}

const AgentSummaryRef = builder.objectRef<AgentSummary>('AgentSummary');

AgentSummaryRef.implement({
  description: "One agent's share of a batch-calls summary.",
  fields: (t) => ({
    agent: t.field({ type: AgentRef, description: 'The agent, named as on its newest batch counted.', resolve: (s) => s.agent }),
    ...figureFields(t, "The agent's"),
  }),
});

const BatchCallsSummaryRef = builder.objectRef<BatchCallsSummary>('BatchCallsSummary');

BatchCallsSummaryRef.implement({
  description:
    "Figures over the workspace's batch calls (or one agent's, or a created-time range), from a walk of the upstream " +
    'list within a page budget. Reused for identical arguments for SUMMARY_CACHE_TTL_MS: `computedAt` says when it was made.',
  fields: (t) => ({
    ...figureFields(t, 'The'),
    agents: t.field({
      type: [AgentSummaryRef],
      description: 'One entry per agent with a batch counted: most batches first, then by agent id.',
      resolve: (s) => s.agents,
    }),
    partial: t.exposeBoolean('partial', {
      description:
        'True when the page budget (SUMMARY_PAGE_BUDGET) stopped the walk before the end of the upstream list: the ' +
        'figures then cover only the batches of the pages read.',
    }),
    pagesRead: t.exposeInt('pagesRead', { description: 'Upstream list pages read (of up to 100 batches each).' }),
    oldestCreatedAt: t.expose('oldestCreatedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Created time of the oldest batch counted (null when none was): how far back a partial answer reaches.',
    }),
    computedAt: t.expose('computedAt', {
      type: 'DateTime',
      description: 'When the walk started: the figures are no older than this.',
    }),
  }),
});

/** The cache key of a summary: its scope, and which upstream key it was read with (never the key itself). */
function summaryKey(context: Context, { agentId, createdAfter, createdBefore }: SummaryScope): string {
  return JSON.stringify([context.upstream.keyFingerprint, agentId, createdAfter?.getTime() ?? null, createdBefore?.getTime() ?? null]);
}

builder.queryField('batchCallsSummary', (t) =>
  t.field({
    type: BatchCallsSummaryRef,
    description:
      "Batches per status, call totals and per-agent figures over the workspace's batch calls, optionally for one " +
      'agent and a created-time range. The gateway walks the upstream list (pages of 100, up to SUMMARY_PAGE_BUDGET ' +
      'pages) and says when the answer is partial; identical requests share one walk and its result for ' +
      'SUMMARY_CACHE_TTL_MS.',
    args: {
      agentId: t.arg.string({ description: "Only this agent's batches." }),
      createdAfter: t.arg({ type: 'DateTime', description: 'Only batches created at or after this time.' }),
      createdBefore: t.arg({ type: 'DateTime', description: 'Only batches created before this time.' }),
    },
    resolve: (_root, args, context) => {
      const scope: SummaryScope = {
        agentId: args.agentId === null || args.agentId === undefined ? null : upstreamId(args.agentId, '`agentId`'),
        createdAfter: args.createdAfter ?? null,
        createdBefore: args.createdBefore ?? null,
      };
      if (scope.createdAfter !== null && scope.createdBefore !== null && scope.createdAfter >= scope.createdBefore) {
        throw new InputError('`createdAfter` must be earlier than `createdBefore`');
      }
      const { services, upstream, reportUnknownEnum, budget } = context;
      return services.summaries.get(
        summaryKey(context, scope),
        // Shared with identical requests that join it: its page calls count against the budget of the operation
        // that starts it, but it runs on its own cancellation and deadline (`call`), not on that operation's.
        (call) => walkSummary({
          scope,
          pageBudget: services.summaryPageBudget,
          readPage: upstreamPageReader({ upstream, agentId: scope.agentId, reportUnknownEnum, spend: () => budget.spend(), call }),
        }),
        context.call,
      );
    },
  }),
);
