/** An agent as the batch-calling API shows it: the id and name every batch carries. */
export interface Agent {
  agentId: string;
  name: string;
}
