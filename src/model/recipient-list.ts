import type { WireRecipient } from '../upstream/types.js';
import { toConversationInitiationClientData, type ConversationInitiationClientData } from './conversation-initiation.js';
import { toRecipientStatus, type BatchCallStatus, type RecipientStatus, type UnknownEnumReporter } from './enums.js';
import { countRecipientStatuses, toRecipientStats, type RecipientCounts, type RecipientStats } from './recipient-stats.js';
import { asString, fromUnix, type JsonObject } from './read.js';

export interface Recipient {
  batchId: string;
  recipientId: string;
  phoneNumber: string | null;
  whatsappUserId: string | null;
  status: RecipientStatus;
  createdAt: Date;
  updatedAt: Date;
  conversationId: string | null;
  conversationInitiationClientData: ConversationInitiationClientData | null;
  dynamicVariables: JsonObject | null;
}

/** A canonical name for a status filter: `*` for none, else the sorted distinct statuses. */
export function statusFilterKey(filter: readonly RecipientStatus[] | null): string {
  return filter === null ? '*' : [...new Set(filter)].sort().join(',');
}

/** What is derived once per decoded recipient array (shared by every request the cache serves it to). */
interface Derived {
  statuses: RecipientStatus[];
  filtered: Map<string, readonly number[]>;
  /** Recipients per status, counted on first use. */
  counts: RecipientCounts | undefined;
  /** Stats by the batch's status (which only decides the progress of an empty list), made on first use. */
  stats: Map<BatchCallStatus, RecipientStats>;
}

const derivedByArray = new WeakMap<readonly WireRecipient[], Derived>();

/** Where a list's recipients come from: read (and checked) on first use, then kept. */
export interface RecipientSource {
  get(): readonly WireRecipient[];
}

/**
 * A batch's recipients as the upstream sent them. Nothing is read until a query asks (the source
 * parses the body's recipients then), and only the recipients a page asks for are mapped, so a
 * 50 000-recipient batch costs one decode per fetch and a page costs only its own items. The
 * statuses, and the positions matching each status filter, are worked out once per decoded array
 * and kept beside it, so pages served from the cache do not repeat them.
 */
export class RecipientList {
  readonly batchId: string;
  readonly #source: RecipientSource;
  readonly #report: UnknownEnumReporter;
  #read: { wire: readonly WireRecipient[]; derived: Derived } | undefined;

  constructor(batchId: string, source: RecipientSource, report: UnknownEnumReporter) {
    this.batchId = batchId;
    this.#source = source;
    this.#report = report;
  }

  /** The recipients and what is derived from them; throws the source's error when they cannot be read. */
  #data(): { wire: readonly WireRecipient[]; derived: Derived } {
    if (this.#read !== undefined) return this.#read;
    const wire = this.#source.get();
    let derived = derivedByArray.get(wire);
    if (derived === undefined) {
      derived = {
        statuses: wire.map((recipient) => toRecipientStatus(recipient.status, this.#report)),
        filtered: new Map(),
        counts: undefined,
        stats: new Map(),
      };
      derivedByArray.set(wire, derived);
    }
    this.#read = { wire, derived };
    return this.#read;
  }

  get size(): number {
    return this.#data().wire.length;
  }

  /** Number of recipients matching the filter (all of them without one). */
  count(filter: readonly RecipientStatus[] | null): number {
    return filter === null ? this.size : this.#positions(filter).length;
  }

  /** Up to `limit` recipients matching the filter, starting at `offset` within the filtered order. */
  slice(filter: readonly RecipientStatus[] | null, offset: number, limit: number): Recipient[] {
    if (filter === null) {
      const end = Math.min(offset + limit, this.size);
      const page: Recipient[] = [];
      for (let position = offset; position < end; position += 1) page.push(this.#at(position));
      return page;
    }
    return this.#positions(filter).slice(offset, offset + limit).map((position) => this.#at(position));
  }

  find(recipientId: string): Recipient | null {
    const position = this.#data().wire.findIndex((recipient) => recipient.id === recipientId);
    return position === -1 ? null : this.#at(position);
  }

  /**
   * Counts per status, rates and progress (see RecipientStats). Worked out once per decoded array
   * and batch status, and kept beside the statuses: a cached detail serves them to every request.
   */
  stats(batchStatus: BatchCallStatus): RecipientStats {
    const { derived } = this.#data();
    let stats = derived.stats.get(batchStatus);
    if (stats === undefined) {
      derived.counts ??= countRecipientStatuses(derived.statuses);
      stats = toRecipientStats(derived.counts, batchStatus);
      derived.stats.set(batchStatus, stats);
    }
    return stats;
  }

  #positions(filter: readonly RecipientStatus[]): readonly number[] {
    const key = statusFilterKey(filter);
    const { derived } = this.#data();
    let positions = derived.filtered.get(key);
    if (positions === undefined) {
      const wanted = new Set(filter);
      const found: number[] = [];
      derived.statuses.forEach((status, position) => {
        if (wanted.has(status)) found.push(position);
      });
      positions = found;
      derived.filtered.set(key, positions);
    }
    return positions;
  }

  #at(position: number): Recipient {
    const { wire: all, derived } = this.#data();
    const wire = all[position];
    const status = derived.statuses[position];
    if (wire === undefined || status === undefined) throw new RangeError(`no recipient at ${position}`);
    const data = toConversationInitiationClientData(wire.conversation_initiation_client_data, this.#report);
    return {
      batchId: this.batchId,
      recipientId: wire.id,
      phoneNumber: asString(wire.phone_number),
      whatsappUserId: asString(wire.whatsapp_user_id),
      status,
      createdAt: fromUnix(wire.created_at_unix),
      updatedAt: fromUnix(wire.updated_at_unix),
      conversationId: asString(wire.conversation_id),
      conversationInitiationClientData: data,
      dynamicVariables: data?.dynamicVariables ?? null,
    };
  }
}
