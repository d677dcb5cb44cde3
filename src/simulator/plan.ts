import type { WireTelephonyProvider, WireWhatsAppParams } from '../upstream/types.js';
import type { AgentKind, Region } from './catalog.js';
import type { Rng } from './random.js';

/**
 * A batch is stored as a plan: when it starts and, per recipient, when each call is dispatched,
 * initiated, answered and ends, with a predetermined outcome. Its wire state is rendered from the
 * plan at the clock's current time, so progress needs no background timers.
 */

export const OUTCOMES = ['completed', 'failed', 'voicemail'] as const;
export type RecipientOutcome = (typeof OUTCOMES)[number];

/** Per-recipient call timings, in ms relative to the batch's scheduled start. */
export interface Timelines {
  readonly dispatch: Float64Array;
  readonly initiated: Float64Array;
  /** Equal to `end` when the call was never answered. */
  readonly answered: Float64Array;
  readonly end: Float64Array;
  /** Index into OUTCOMES. */
  readonly outcome: Uint8Array;
  /** Every transition offset, sorted: the number passed identifies the rendered state. */
  readonly events: Float64Array;
}

export type Channel =
  | { kind: 'phone'; provider: WireTelephonyProvider; phoneNumberId: string }
  | { kind: 'whatsapp'; params: WireWhatsAppParams };

export interface BatchHalt {
  /** Epoch ms at which the batch stopped. */
  at: number;
  status: 'failed' | 'cancelled';
}

export interface BatchPlan {
  id: string;
  /** Seed of the per-recipient data streams. */
  seed: number;
  name: string;
  agentId: string;
  agentName: string;
  agentKind: AgentKind;
  region: Region;
  channel: Channel;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms; recipients' offsets count from here. */
  scheduledAt: number;
  halt: BatchHalt | null;
  timezone: string | null;
  branchId: string | null;
  branchName: string | null;
  environment: string | null;
  retryCount: number;
  ringingTimeoutSecs: number;
  targetConcurrencyLimit: number | null;
  timelines: Timelines;
}

/** Without an explicit limit, the workspace's capacity share allows this many parallel calls. */
export const DEFAULT_CONCURRENCY = 6;

/**
 * Schedules `count` calls over `concurrency` lines: a recipient is dispatched shortly after a line
 * frees up, so a batch progresses at a realistic pace (minutes to an hour for hundreds of calls).
 */
export function buildTimelines(rng: Rng, count: number, concurrency: number, ringingTimeoutSecs: number): Timelines {
  const dispatch = new Float64Array(count);
  const initiated = new Float64Array(count);
  const answered = new Float64Array(count);
  const end = new Float64Array(count);
  const outcome = new Uint8Array(count);
  const lines = new Float64Array(Math.max(1, concurrency));
  for (let l = 0; l < lines.length; l++) lines[l] = l * rng.int(400, 1500);

  for (let i = 0; i < count; i++) {
    let free = 0;
    for (let l = 1; l < lines.length; l++) if ((lines[l] ?? 0) < (lines[free] ?? 0)) free = l;
    const d = (lines[free] ?? 0) + rng.int(500, 4000);
    const init = d + rng.int(1500, 8000);
    const kind = rng.weighted<number>([[0, 72], [1, 16], [2, 12]]);
    let ans: number;
    let e: number;
    if (kind === 0) {
      ans = init + rng.int(3000, 18000);
      // Most calls are short; a few run long.
      e = ans + (rng.chance(0.15) ? rng.int(180_000, 420_000) : rng.int(35_000, 150_000));
    } else if (kind === 2) {
      ans = init + rng.int(12_000, 28_000);
      e = ans + rng.int(15_000, 40_000);
    } else {
      // Busy signal, or rang out at the ringing timeout.
      ans = init + (rng.chance(0.4) ? rng.int(2000, 6000) : ringingTimeoutSecs * 1000);
      e = ans;
    }
    dispatch[i] = d;
    initiated[i] = init;
    answered[i] = ans;
    end[i] = e;
    outcome[i] = kind;
    lines[free] = e;
  }
  return { dispatch, initiated, answered, end, outcome, events: collectEvents(dispatch, initiated, answered, end) };
}

function collectEvents(...series: Float64Array[]): Float64Array {
  const total = series.reduce((n, s) => n + s.length, 0);
  const events = new Float64Array(total);
  let at = 0;
  for (const s of series) {
    events.set(s, at);
    at += s.length;
  }
  return events.sort();
}

/** Time from start until the last call ends. */
export function timelineSpan(t: Timelines): number {
  return t.events.length === 0 ? 0 : (t.events[t.events.length - 1] ?? 0);
}

/** Squeezes every offset by the same factor so the whole run fits in `maxSpan` ms (order is kept). */
export function compressTimelines(t: Timelines, maxSpan: number): Timelines {
  const span = timelineSpan(t);
  if (span <= maxSpan) return t;
  const factor = Math.max(0, maxSpan) / span;
  const scale = (s: Float64Array): Float64Array => s.map((v) => Math.floor(v * factor));
  const dispatch = scale(t.dispatch);
  const initiated = scale(t.initiated);
  const answered = scale(t.answered);
  const end = scale(t.end);
  return { dispatch, initiated, answered, end, outcome: t.outcome, events: collectEvents(dispatch, initiated, answered, end) };
}

/** How many entries of a sorted array are <= value. */
export function countAtOrBefore(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? 0) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
