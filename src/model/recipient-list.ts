import type { WireRecipient } from '../upstream/types.js';
import { toConversationInitiationClientData, type ConversationInitiationClientData } from './conversation-initiation.js';
import { toRecipientStatus, type RecipientStatus, type UnknownEnumReporter } from './enums.js';
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
}

const derivedByArray = new WeakMap<readonly WireRecipient[], Derived>();

/**
 * A batch's recipients as the upstream sent them. Only the recipients a page asks for are mapped,
 * so a 50 000-recipient batch costs one decode per fetch and a page costs only its own items.
 * The statuses, and the positions matching each status filter, are worked out once per decoded
 * array and kept beside it, so pages served from the cache do not repeat them.
 */
export class RecipientList {
  readonly batchId: string;
  readonly #wire: readonly WireRecipient[];
  readonly #report: UnknownEnumReporter;
  readonly #statuses: RecipientStatus[];
  readonly #filtered: Map<string, readonly number[]>;

  constructor(batchId: string, wire: readonly WireRecipient[], report: UnknownEnumReporter) {
    this.batchId = batchId;
    this.#wire = wire;
    this.#report = report;
    let derived = derivedByArray.get(wire);
    if (derived === undefined) {
      derived = { statuses: wire.map((recipient) => toRecipientStatus(recipient.status, report)), filtered: new Map() };
      derivedByArray.set(wire, derived);
    }
    this.#statuses = derived.statuses;
    this.#filtered = derived.filtered;
  }

  get size(): number {
    return this.#wire.length;
  }

  /** Number of recipients matching the filter (all of them without one). */
  count(filter: readonly RecipientStatus[] | null): number {
    return filter === null ? this.#wire.length : this.#positions(filter).length;
  }

  /** Up to `limit` recipients matching the filter, starting at `offset` within the filtered order. */
  slice(filter: readonly RecipientStatus[] | null, offset: number, limit: number): Recipient[] {
    if (filter === null) {
      return this.#wire.slice(offset, offset + limit).map((_, i) => this.#at(offset + i));
    }
    return this.#positions(filter).slice(offset, offset + limit).map((position) => this.#at(position));
  }

  find(recipientId: string): Recipient | null {
    const position = this.#wire.findIndex((recipient) => recipient.id === recipientId);
    return position === -1 ? null : this.#at(position);
  }

  #positions(filter: readonly RecipientStatus[]): readonly number[] {
    const key = statusFilterKey(filter);
    let positions = this.#filtered.get(key);
    if (positions === undefined) {
      const wanted = new Set(filter);
      const found: number[] = [];
      this.#statuses.forEach((status, position) => {
        if (wanted.has(status)) found.push(position);
      });
      positions = found;
      this.#filtered.set(key, positions);
    }
    return positions;
  }

  #at(position: number): Recipient {
    const wire = this.#wire[position];
    const status = this.#statuses[position];
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
