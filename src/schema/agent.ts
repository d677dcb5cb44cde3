import { builder } from '../builder.js';
import type { Agent } from '../model/agent.js';
import { BatchCallRef } from './batch-call.js';

export const AgentRef = builder.objectRef<Agent>('Agent');

AgentRef.implement({
  description: 'The agent that makes the calls of a batch.',
  fields: (t) => ({
    agentId: t.exposeString('agentId', { description: 'The upstream id of the agent.' }),
    name: t.exposeString('name', { description: 'Name of the agent.' }),
  }),
});

builder.objectField(BatchCallRef, 'agent', (t) =>
  t.field({
    type: AgentRef,
    description: 'The agent that makes the calls (from the batch itself: no upstream call).',
    resolve: (batch) => ({ agentId: batch.agentId, name: batch.agentName }),
  }),
);
