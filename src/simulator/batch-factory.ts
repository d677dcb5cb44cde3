import type { WireBatchCallStatus, WireTelephonyProvider } from '../upstream/types.js';
import type { AgentKind, Region } from './catalog.js';
import { BRANCH_NAMES } from './catalog.js';
import type { BatchHalt, BatchPlan, Channel } from './plan.js';
import { DEFAULT_CONCURRENCY, buildTimelines, compressTimelines, timelineSpan } from './plan.js';
import type { Rng } from './random.js';

export interface AgentRef {
  id: string;
  name: string;
  kind: AgentKind;
}

export interface PlanParams {
  id: string;
  name: string;
  agent: AgentRef;
  region: Region;
  /** `null` = a WhatsApp batch. */
  provider: WireTelephonyProvider | null;
  status: WireBatchCallStatus;
  recipients: number;
  /** Epoch ms of the current time: the plan is placed so that it renders `status` now. */
  now: number;
  /** Epoch ms; chosen from `status` when absent. */
  createdAt?: number;
  /** pending: how long until it starts. Default 10 minutes. */
  startsInMs?: number;
  /** in_progress: share of recipients already dispatched. Default 0. */
  progress?: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Builds a plan that renders as `params.status` at `params.now` and evolves from there. */
export function makePlan(rng: Rng, params: PlanParams): BatchPlan {
  const n = params.recipients;
  const big = n >= 400;
  const targetConcurrencyLimit = rng.chance(0.4) ? null : big ? rng.int(20, 30) : rng.int(4, 15);
  const ringingTimeoutSecs = rng.pick([30, 45, 60, 60]);
  const branched = rng.chance(0.6);
  const base = {
    id: params.id,
    seed: Math.floor(rng.float() * 0x1_0000_0000),
    name: params.name,
    agentId: params.agent.id,
    agentName: params.agent.name,
    agentKind: params.agent.kind,
    region: params.region,
    channel: makeChannel(rng, params),
    timezone: rng.chance(0.85) ? params.region.timezone : null,
    branchId: branched ? rng.id('agtbrch_', 24) : null,
    branchName: branched ? rng.pick(BRANCH_NAMES) : null,
    environment: rng.chance(0.85) ? 'production' : 'staging',
    retryCount: rng.weighted([[0, 80], [1, 15], [2, 5]]),
    ringingTimeoutSecs,
    targetConcurrencyLimit,
  };
  let timelines = buildTimelines(rng, n, targetConcurrencyLimit ?? (big ? 20 : DEFAULT_CONCURRENCY), ringingTimeoutSecs);
  const { now } = params;

  if (params.status === 'pending') {
    const createdAt = params.createdAt ?? now - rng.int(10 * MINUTE, 72 * HOUR);
    const scheduledAt = Math.max(now, createdAt) + (params.startsInMs ?? 10 * MINUTE);
    return { ...base, createdAt, scheduledAt, halt: null, timelines };
  }

  if (params.status === 'in_progress') {
    // Put `now` one second after recipient k's dispatch: it is visibly 'dispatched' right now.
    const k = Math.min(n - 1, Math.floor((params.progress ?? 0) * n));
    const elapsed = k >= 0 ? (timelines.dispatch[k] ?? 0) + 1000 : 0;
    const createdAt = params.createdAt ?? now - elapsed - rng.int(0, 2 * HOUR);
    const scheduledAt = Math.max(createdAt, now - elapsed);
    return { ...base, createdAt, scheduledAt, halt: null, timelines };
  }

  // completed, failed, cancelled: the whole run lies in the past.
  const createdAt = params.createdAt ?? now;
  let scheduledAt = createdAt + (params.createdAt === undefined ? 0 : rng.int(0, HOUR));
  if (scheduledAt + timelineSpan(timelines) >= now) scheduledAt = createdAt;
  timelines = compressTimelines(timelines, Math.max(0, now - scheduledAt - 1));
  let halt: BatchHalt | null = null;
  if (params.status === 'failed' || params.status === 'cancelled') {
    const k = Math.floor((0.2 + rng.float() * 0.6) * n);
    const offset = k < n ? (timelines.dispatch[k] ?? 0) : timelineSpan(timelines);
    halt = { at: Math.min(now, scheduledAt + offset), status: params.status };
  }
  return { ...base, createdAt, scheduledAt, halt, timelines };
}

function makeChannel(rng: Rng, params: PlanParams): Channel {
  if (params.provider === null) {
    return {
      kind: 'whatsapp',
      params: {
        whatsapp_phone_number_id: `1${rng.digits(14)}`,
        whatsapp_call_permission_request_template_name: 'call_permission_request',
        whatsapp_call_permission_request_template_language_code: params.region.templateLanguage,
      },
    };
  }
  return { kind: 'phone', provider: params.provider, phoneNumberId: rng.id('phnum_') };
}
