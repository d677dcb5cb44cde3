import type { Logger } from '../logger.js';
import type { UnknownEnumReporter } from '../model/enums.js';
import type { UpstreamClient } from '../upstream/client.js';

export interface BatchWatchOptions {
  upstream: UpstreamClient;
  logger: Logger;
  reportUnknownEnum: UnknownEnumReporter;
  pollIntervalMs: number;
  maxBackoffMs: number;
  maxBatches: number;
  maxSubscriptions: number;
}

/** Watched batches for `batchCallUpdated`: one shared upstream poll per batch, whatever the number of subscribers. */
export class BatchWatch {
  readonly #options: BatchWatchOptions;

  constructor(options: BatchWatchOptions) {
    this.#options = options;
  }

  get options(): Readonly<BatchWatchOptions> {
    return this.#options;
  }

  /** Ends every subscription (shutdown). */
  close(): void {}
}
