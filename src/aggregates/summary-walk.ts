import { toBatchCall, type BatchCall } from '../model/batch-call.js';
import type { UnknownEnumReporter } from '../model/enums.js';
import { SummaryAccumulator, type BatchCallsSummary, type SummaryScope } from '../model/summary.js';
import { UPSTREAM_MAX_LIMIT, type UpstreamPage } from '../pagination/upstream-window.js';
import type { CallOptions, UpstreamClient } from '../upstream/client.js';

/** Reads the upstream list page that starts after `lastDoc` (the first page for null). */
export type SummaryPageReader = (lastDoc: string | null) => Promise<UpstreamPage<BatchCall>>;

export interface SummaryWalkOptions {
  scope: SummaryScope;
  /** Most upstream list pages to read; the summary is partial when the list goes on past them. */
  pageBudget: number;
  readPage: SummaryPageReader;
  now?: () => number;
}

/**
 * A summary of the upstream list, walked page by page by `next_doc` within a page budget.
 *
 * The walk does not stop early at `createdAfter`: neither the API reference nor the SDKs say in
 * which order the list comes (the simulator serves it newest first, but that is its own choice), so
 * stopping at the first old batch could miss newer ones further on. A ranged summary therefore
 * reads the list to its end or to the budget, like an unranged one, and filters as it goes.
 */
export async function walkSummary({ scope, pageBudget, readPage, now = Date.now }: SummaryWalkOptions): Promise<BatchCallsSummary> {
  const computedAt = new Date(now());
  const accumulator = new SummaryAccumulator(scope);
  let lastDoc: string | null = null;
  let pagesRead = 0;
  let partial = false;
  for (;;) {
    const page = await readPage(lastDoc);
    pagesRead += 1;
    accumulator.add(page.items);
    // As readWindow: `has_more` without a `next_doc` cannot be followed, so it ends the list.
    const next = page.hasMore && page.nextDoc !== null ? page.nextDoc : null;
    if (next === null) break;
    if (pagesRead >= pageBudget) {
      partial = true;
      break;
    }
    lastDoc = next;
  }
  return accumulator.result({ partial, pagesRead, computedAt });
}

export interface UpstreamPageReaderOptions {
  upstream: UpstreamClient;
  agentId: string | null;
  reportUnknownEnum: UnknownEnumReporter;
  /** Called before each upstream call (the operation's run-time budget). */
  spend: () => void;
  call: CallOptions;
}

/** Full upstream pages (`UPSTREAM_MAX_LIMIT` items), filtered by agent upstream when one is given. */
export function upstreamPageReader({ upstream, agentId, reportUnknownEnum, spend, call }: UpstreamPageReaderOptions): SummaryPageReader {
  return async (lastDoc) => {
    spend();
    const page = await upstream.listBatches(
      { limit: UPSTREAM_MAX_LIMIT, lastDoc: lastDoc ?? undefined, agentId: agentId ?? undefined },
      call,
    );
    return {
      items: page.batch_calls.map((wire) => toBatchCall(wire, reportUnknownEnum)),
      nextDoc: page.next_doc ?? null,
      hasMore: page.has_more === true,
    };
  };
}
