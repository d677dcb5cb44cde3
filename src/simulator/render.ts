import type { WireBatchCall, WireBatchCallDetail, WireBatchCallStatus, WireRecipient, WireRecipientStatus } from '../upstream/types.js';
import type { BatchPlan } from './plan.js';
import { OUTCOMES, countAtOrBefore } from './plan.js';
import { recipientProfile } from './recipients.js';

/** Unix seconds, the upstream's timestamp unit. */
export function toUnix(ms: number): number {
  return Math.floor(ms / 1000);
}

/**
 * Identifies what a plan renders to at `now`: equal keys mean identical output, so a rendered
 * body can be reused until the next recipient transition.
 */
export function stateKey(plan: BatchPlan, now: number): string {
  if (now < plan.scheduledAt) return 'pending';
  if (plan.halt !== null && now >= plan.halt.at) return 'halted';
  return `run:${countAtOrBefore(plan.timelines.events, now - plan.scheduledAt)}`;
}

interface RecipientState {
  status: WireRecipientStatus;
  /** Epoch ms of the last transition, or null when nothing happened yet. */
  updatedAt: number | null;
  initiated: boolean;
}

interface Evaluation {
  status: WireBatchCallStatus;
  dispatched: number;
  finished: number;
  lastUpdatedAt: number;
}

/** Walks every recipient at `now`, tallies the batch counts and hands each state to `visit`. */
function evaluate(plan: BatchPlan, now: number, visit?: (index: number, state: RecipientState) => void): Evaluation {
  const { dispatch, initiated, answered, end, outcome } = plan.timelines;
  const started = now >= plan.scheduledAt;
  const halt = plan.halt !== null && now >= plan.halt.at ? plan.halt : null;
  // A halted batch is frozen at its halt time.
  const offset = (halt === null ? now : halt.at) - plan.scheduledAt;
  let dispatched = 0;
  let finished = 0;
  let lastOffset = -Infinity;
  const state: RecipientState = { status: 'pending', updatedAt: null, initiated: false };

  for (let i = 0; i < dispatch.length; i++) {
    let at: number | null = null;
    let status: WireRecipientStatus = 'pending';
    const d = dispatch[i] ?? 0;
    const init = initiated[i] ?? 0;
    const ans = answered[i] ?? 0;
    const e = end[i] ?? 0;
    if (!started || offset < d) {
      status = 'pending';
    } else if (offset < init) {
      status = 'dispatched';
      at = d;
    } else if (offset < ans) {
      status = 'initiated';
      at = init;
    } else if (offset < e) {
      status = 'in_progress';
      at = ans;
    } else {
      status = OUTCOMES[outcome[i] ?? 0] ?? 'completed';
      at = e;
    }
    const wasDispatched = started && offset >= d;
    if (halt !== null && (status === 'pending' || status === 'dispatched' || status === 'initiated' || status === 'in_progress')) {
      // Calls cut off by a failure count as failed; calls never placed are cancelled either way.
      status = halt.status === 'failed' && wasDispatched ? 'failed' : 'cancelled';
      at = halt.at - plan.scheduledAt;
    }
    if (wasDispatched) {
      dispatched++;
      if (status !== 'dispatched' && status !== 'initiated' && status !== 'in_progress') finished++;
    }
    if (at !== null && at > lastOffset) lastOffset = at;
    if (visit !== undefined) {
      state.status = status;
      state.updatedAt = at === null ? null : plan.scheduledAt + at;
      state.initiated = started && offset >= init;
      visit(i, state);
    }
  }

  let status: WireBatchCallStatus;
  if (!started) status = 'pending';
  else if (halt !== null) status = halt.status;
  else status = finished === dispatch.length ? 'completed' : 'in_progress';

  let lastUpdatedAt = started ? Math.max(plan.createdAt, plan.scheduledAt) : plan.createdAt;
  if (lastOffset > -Infinity) lastUpdatedAt = Math.max(lastUpdatedAt, plan.scheduledAt + lastOffset);
  if (halt !== null) lastUpdatedAt = Math.max(lastUpdatedAt, halt.at);
  return { status, dispatched, finished, lastUpdatedAt };
}

function summaryOf(plan: BatchPlan, ev: Evaluation): WireBatchCall {
  const phone = plan.channel.kind === 'phone' ? plan.channel : null;
  const whatsapp = plan.channel.kind === 'whatsapp' ? plan.channel.params : null;
  // Key order follows the list page's BatchCallResponse.
  return {
    id: plan.id,
    phone_number_id: phone?.phoneNumberId ?? null,
    phone_provider: phone?.provider ?? null,
    whatsapp_params: whatsapp === null ? null : { ...whatsapp },
    name: plan.name,
    agent_id: plan.agentId,
    branch_id: plan.branchId,
    environment: plan.environment,
    created_at_unix: toUnix(plan.createdAt),
    scheduled_time_unix: toUnix(plan.scheduledAt),
    timezone: plan.timezone,
    total_calls_dispatched: ev.dispatched,
    total_calls_scheduled: plan.timelines.dispatch.length,
    total_calls_finished: ev.finished,
    last_updated_at_unix: toUnix(ev.lastUpdatedAt),
    status: ev.status,
    retry_count: plan.retryCount,
    telephony_call_config: { ringing_timeout_secs: plan.ringingTimeoutSecs },
    target_concurrency_limit: plan.targetConcurrencyLimit,
    agent_name: plan.agentName,
    branch_name: plan.branchName,
  };
}

export function renderSummary(plan: BatchPlan, now: number): WireBatchCall {
  return summaryOf(plan, evaluate(plan, now));
}

export type RecipientPatches = ReadonlyMap<string, Record<string, unknown>>;

export function renderDetail(plan: BatchPlan, now: number, patches: RecipientPatches): WireBatchCallDetail {
  const createdAtUnix = toUnix(plan.createdAt);
  const recipients: WireRecipient[] = new Array<WireRecipient>(plan.timelines.dispatch.length);
  const ev = evaluate(plan, now, (i, state) => {
    const profile = recipientProfile(plan, i);
    const recipient: WireRecipient = {
      id: profile.id,
      phone_number: profile.phoneNumber,
      whatsapp_user_id: profile.whatsappUserId,
      status: state.status,
      created_at_unix: createdAtUnix,
      updated_at_unix: state.updatedAt === null ? createdAtUnix : toUnix(state.updatedAt),
      conversation_id: state.initiated ? profile.conversationId : null,
      conversation_initiation_client_data: profile.clientData,
    };
    const patch = patches.size === 0 ? undefined : patches.get(profile.id);
    recipients[i] = patch === undefined ? recipient : applyPatch(recipient, patch);
  });
  return { ...summaryOf(plan, ev), recipients };
}

/** Shallow override; an `undefined` value removes the key (to simulate a missing field). */
export function applyPatch<T extends object>(target: T, patch: Record<string, unknown>): T {
  const out = { ...target } as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete out[key];
    else out[key] = value;
  }
  return out as T;
}
