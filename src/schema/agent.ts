import { builder } from '../builder.js';
import type { Context } from '../context.js';
import { upstreamId } from '../input.js';
import type { Agent } from '../model/agent.js';
import { resolveBatchList } from '../pagination/batch-list.js';
import { BATCH_LIST_PAGING, BatchCallConnection, BatchCallRef, batchListArgs } from './batch-call.js';
import { notFound } from './errors.js';

export const AgentRef = builder.objectRef<Agent>('Agent');

/**
 * The batch-calling API has no agent endpoint: an agent is known through its batches. Loading one
 * by id reads the first of them the upstream lists (one list call, `limit=1&agent_id=...`) for the
 * agent's name.
 */
async function loadAgent(id: string, context: Context): Promise<Agent> {
  const agentId = upstreamId(id, 'The Agent id');
  const page = await context.batchPages.load({ limit: 1, lastDoc: null, agentId });
  const listed = page.items[0];
  if (listed === undefined) throw notFound(`Agent ${agentId} has no batch calls (agents are known through their batches)`);
  return { agentId, name: listed.agentName };
}

builder.node(AgentRef, {
  description:
    'The agent that makes the calls of a batch. Its global ID works with `node`: loading an agent that way costs ' +
    'one upstream list call, and an agent with no batch call is not found.',
  id: { resolve: (agent) => agent.agentId },
  loadOne: loadAgent,
  fields: (t) => ({
    agentId: t.exposeString('agentId', { description: 'The upstream id of the agent.' }),
    name: t.exposeString('name', { description: 'Name of the agent.' }),
    batchCalls: t.field({
      type: BatchCallConnection,
      description: `This agent's batch calls, newest first (the upstream list for its \`agent_id\`). ${BATCH_LIST_PAGING}`,
      args: batchListArgs(t.arg),
      resolve: (agent, args, context) => resolveBatchList(args, agent.agentId, context),
    }),
  }),
});

builder.objectField(BatchCallRef, 'agent', (t) =>
  t.field({
    type: AgentRef,
    description: 'The agent that makes the calls (from the batch itself: no upstream call).',
    resolve: (batch) => ({ agentId: batch.agentId, name: batch.agentName }),
  }),
);
