import type {
  WireBatchCall,
  WireBatchCallDetail,
  WireBatchCallStatus,
  WireTelephonyProvider,
  WireWorkspaceBatchCallsResponse,
} from '../upstream/types.js';
import type { AgentRef } from './batch-factory.js';
import { makePlan } from './batch-factory.js';
import { REGIONS } from './catalog.js';
import type { Clock } from './clock.js';
import { realClock } from './clock.js';
import type { CursorKey } from './cursor.js';
import { compareKeys, decodeCursor, encodeCursor } from './cursor.js';
import { batchName, generateDataset } from './dataset.js';
import type { BatchPlan } from './plan.js';
import { Rng, mixSeed } from './random.js';
import { recipientId } from './recipients.js';
import { applyPatch, renderDetail, renderSummary, stateKey, toUnix } from './render.js';

export interface AddBatchSpec {
  id?: string;
  /** Defaults to the first agent; an unknown id gets the agent name "Test Agent". */
  agentId?: string;
  name?: string;
  /** The status the batch renders with now; default 'completed'. */
  status?: WireBatchCallStatus;
  recipients: number;
  whatsapp?: boolean;
  /** Phone batches only; default 'twilio'. */
  provider?: WireTelephonyProvider;
  /** Default: now (so the batch lists first). */
  createdAtUnix?: number;
}

export interface ListBatchesParams {
  limit: number;
  lastDoc?: string | null;
  agentId?: string | null;
}

export interface SimulatorStoreOptions {
  /** Dataset seed, default 42. */
  seed?: number;
  clock?: Clock;
}

/** `last_doc` was not issued by this simulator. */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
}

export const MAX_PAGE_SIZE = 100;
const MAX_RECIPIENTS = 1_000_000;

interface Entry {
  plan: BatchPlan;
  key: CursorKey;
  /** Bumped by every patch so cached renders are dropped. */
  version: number;
  patch: Record<string, unknown> | null;
  recipientPatches: Map<string, Record<string, unknown>>;
  summary: { key: string; value: WireBatchCall } | null;
  detail: { key: string; body: Buffer } | null;
}

/** The simulated workspace: batch plans rendered at the clock's time, in list order. */
export class SimulatorStore {
  readonly #clock: Clock;
  readonly #seed: number;
  readonly #agents: AgentRef[];
  readonly #entries = new Map<string, Entry>();
  /** Sorted by compareKeys. */
  readonly #order: Entry[] = [];
  #added = 0;

  constructor(options: SimulatorStoreOptions = {}) {
    this.#clock = options.clock ?? realClock;
    this.#seed = options.seed ?? 42;
    const dataset = generateDataset(this.#seed, this.#clock.now());
    this.#agents = dataset.agents;
    for (const plan of dataset.plans) this.#insert(plan);
  }

  agents(): Array<{ id: string; name: string }> {
    return this.#agents.map(({ id, name }) => ({ id, name }));
  }

  /** Batch ids in list order, optionally for one agent. */
  batchIds(agentId?: string): string[] {
    return this.#order.filter((e) => agentId === undefined || e.plan.agentId === agentId).map((e) => e.plan.id);
  }

  /** The detail response as rendered now (a fresh object each call). */
  getBatch(id: string): WireBatchCallDetail | undefined {
    const entry = this.#entries.get(id);
    return entry === undefined ? undefined : this.#renderDetail(entry, this.#clock.now());
  }

  /** The serialized detail response, reused while the batch's rendered state is unchanged. */
  detailBody(id: string): Buffer | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    const now = this.#clock.now();
    const key = `${entry.version}|${stateKey(entry.plan, now)}`;
    if (entry.detail?.key !== key) entry.detail = { key, body: Buffer.from(JSON.stringify(this.#renderDetail(entry, now))) };
    return entry.detail.body;
  }

  /** One page of the workspace list. Throws InvalidCursorError for a foreign `lastDoc`. */
  listBatches(params: ListBatchesParams): WireWorkspaceBatchCallsResponse {
    const limit = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(params.limit)));
    let start = 0;
    if (params.lastDoc !== undefined && params.lastDoc !== null) {
      const after = decodeCursor(params.lastDoc);
      if (after === null) throw new InvalidCursorError('last_doc is not a valid pagination token');
      start = this.#firstAfter(after);
    }
    const page: Entry[] = [];
    let hasMore = false;
    for (let i = start; i < this.#order.length; i++) {
      const entry = this.#order[i];
      if (entry === undefined) continue;
      if (params.agentId !== undefined && params.agentId !== null && entry.plan.agentId !== params.agentId) continue;
      if (page.length === limit) {
        hasMore = true;
        break;
      }
      page.push(entry);
    }
    const last = page[page.length - 1];
    return {
      batch_calls: page.map((e) => ({ ...this.#summary(e) })),
      next_doc: hasMore && last !== undefined ? encodeCursor(last.key) : null,
      has_more: hasMore,
    };
  }

  /** Adds a batch that renders as `spec.status` now and progresses from there; returns its id. */
  addBatch(spec: AddBatchSpec): string {
    if (!Number.isInteger(spec.recipients) || spec.recipients < 0 || spec.recipients > MAX_RECIPIENTS) {
      throw new RangeError(`recipients must be an integer between 0 and ${MAX_RECIPIENTS}`);
    }
    const rng = new Rng(mixSeed(this.#seed, 0x5eed + ++this.#added));
    const id = spec.id ?? rng.id('btcal_');
    if (this.#entries.has(id)) throw new Error(`batch ${id} already exists`);
    const agentId = spec.agentId ?? this.#agents[0]?.id ?? 'agent_test';
    const agent = this.#agents.find((a) => a.id === agentId) ?? { id: agentId, name: 'Test Agent', kind: 'appointments' };
    const region = rng.pick(REGIONS);
    const now = this.#clock.now();
    const createdAt = spec.createdAtUnix === undefined ? toUnix(now) * 1000 : spec.createdAtUnix * 1000;
    this.#insert(
      makePlan(rng, {
        id,
        name: spec.name ?? batchName(rng, agent.kind, region, createdAt),
        agent,
        region,
        provider: spec.whatsapp === true ? null : (spec.provider ?? 'twilio'),
        status: spec.status ?? 'completed',
        recipients: spec.recipients,
        now,
        createdAt,
      }),
    );
    return id;
  }

  /** Raw overrides merged over the rendered batch (list item and detail); `undefined` removes a key. */
  patchBatch(id: string, patch: Record<string, unknown>): void {
    const entry = this.#require(id);
    entry.patch = { ...entry.patch, ...patch };
    entry.version++;
  }

  /** Raw overrides merged over one rendered recipient; `undefined` removes a key. */
  patchRecipient(batchId: string, recipientIdToPatch: string, patch: Record<string, unknown>): void {
    const entry = this.#require(batchId);
    const count = entry.plan.timelines.dispatch.length;
    let found = entry.recipientPatches.has(recipientIdToPatch);
    for (let i = 0; !found && i < count; i++) found = recipientId(entry.plan, i) === recipientIdToPatch;
    if (!found) throw new Error(`batch ${batchId} has no recipient ${recipientIdToPatch}`);
    entry.recipientPatches.set(recipientIdToPatch, { ...entry.recipientPatches.get(recipientIdToPatch), ...patch });
    entry.version++;
  }

  removeBatch(id: string): boolean {
    const entry = this.#entries.get(id);
    if (entry === undefined) return false;
    this.#entries.delete(id);
    this.#order.splice(this.#order.indexOf(entry), 1);
    return true;
  }

  #insert(plan: BatchPlan): void {
    const entry: Entry = {
      plan,
      key: { createdAtUnix: toUnix(plan.createdAt), id: plan.id },
      version: 0,
      patch: null,
      recipientPatches: new Map(),
      summary: null,
      detail: null,
    };
    this.#entries.set(plan.id, entry);
    this.#order.splice(this.#firstAfter(entry.key), 0, entry);
  }

  /** Index of the first entry that sorts after `key`. */
  #firstAfter(key: CursorKey): number {
    let lo = 0;
    let hi = this.#order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const entry = this.#order[mid];
      if (entry !== undefined && compareKeys(entry.key, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #require(id: string): Entry {
    const entry = this.#entries.get(id);
    if (entry === undefined) throw new Error(`unknown batch ${id}`);
    return entry;
  }

  #summary(entry: Entry): WireBatchCall {
    const now = this.#clock.now();
    const key = `${entry.version}|${stateKey(entry.plan, now)}`;
    if (entry.summary?.key !== key) {
      const { recipients: _ignored, ...patch } = entry.patch ?? {};
      const value = renderSummary(entry.plan, now);
      entry.summary = { key, value: entry.patch === null ? value : applyPatch(value, patch) };
    }
    return entry.summary.value;
  }

  #renderDetail(entry: Entry, now: number): WireBatchCallDetail {
    const detail = renderDetail(entry.plan, now, entry.recipientPatches);
    return entry.patch === null ? detail : applyPatch(detail, entry.patch);
  }
}
