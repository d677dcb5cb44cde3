export interface SummaryCacheOptions {
  /** How long a summary is reused for identical arguments; 0 = not cached. */
  ttlMs: number;
}

/** Summaries, reused briefly for identical arguments. */
export class SummaryCache {
  readonly ttlMs: number;

  constructor({ ttlMs }: SummaryCacheOptions) {
    this.ttlMs = ttlMs;
  }
}
