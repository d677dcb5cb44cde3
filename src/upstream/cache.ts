import { LRUCache } from 'lru-cache';

export interface CacheTtls {
  /** Batches in a terminal status (completed, failed, cancelled): they no longer change. */
  terminalMs: number;
  /** Pending and in-progress batches. */
  activeMs: number;
  /** List pages (their items' statuses move on). */
  listMs: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  evictions: number;
  /** Callers that joined an identical request already in flight instead of making their own. */
  coalesced: number;
  entries: number;
  bytes: number;
}

interface Entry {
  value: unknown;
  bytes: number;
  /** When the upstream call that fetched it started (a monotonic ms clock). */
  askedAt: number;
}

/**
 * Upstream responses across requests, already decoded: an LRU bounded by the bytes of the bodies
 * it holds (lru-cache), with a time to live chosen per entry by what the data is. Keys carry an
 * identity of the upstream key (a hash), so nothing is served across keys or workspaces.
 */
export class ResponseCache {
  readonly #lru: LRUCache<string, Entry>;
  readonly #stats = { hits: 0, misses: 0, evictions: 0, coalesced: 0 };

  constructor(maxBytes: number) {
    this.#lru = new LRUCache<string, Entry>({
      maxSize: maxBytes,
      sizeCalculation: (entry) => Math.max(1, entry.bytes),
      // An entry larger than the whole cache is simply not kept.
      maxEntrySize: maxBytes,
      ttlAutopurge: false,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.#stats.evictions += 1;
      },
    });
  }

  get<T>(key: string): T | undefined {
    const entry = this.#lru.get(key);
    if (entry === undefined) {
      this.#stats.misses += 1;
      return undefined;
    }
    this.#stats.hits += 1;
    return entry.value as T;
  }

  /**
   * Keeps an answer, unless the entry already held was fetched by a call started later (a slow
   * read finishing after a fresher one must not replace it). `askedAt`: when the call started.
   */
  set(key: string, value: unknown, bytes: number, ttlMs: number, askedAt = performance.now()): void {
    if (ttlMs <= 0) return;
    const held = this.#lru.get(key, { updateAgeOnGet: false });
    if (held !== undefined && held.askedAt > askedAt) return;
    this.#lru.set(key, { value, bytes, askedAt }, { ttl: ttlMs });
  }

  /** Drops the entry for `key` if it still holds `value` (a newer answer stays). */
  delete(key: string, value: unknown): void {
    if (this.#lru.get(key, { updateAgeOnGet: false })?.value === value) this.#lru.delete(key);
  }

  countCoalesced(): void {
    this.#stats.coalesced += 1;
  }

  stats(): CacheStats {
    return { ...this.#stats, entries: this.#lru.size, bytes: this.#lru.calculatedSize };
  }

  clear(): void {
    this.#lru.clear();
  }
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** TTL of a batch detail by its status; unknown statuses count as active (short-lived). */
export function detailTtl(status: string, ttls: CacheTtls): number {
  return TERMINAL.has(status) ? ttls.terminalMs : ttls.activeMs;
}
