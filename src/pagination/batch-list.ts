import type { Context } from '../context.js';
import { InputError, batchCallFilter, pageSize, type BatchCallFilterInput } from '../input.js';
import type { BatchCall } from '../model/batch-call.js';
import { batchMatcher, filterFingerprint, type BatchCallFilter } from './batch-filter.js';
import { batchCursorKind, decodeBatchCursor, decodeFilteredBatchCursor, encodeBatchCursor, encodeFilteredBatchCursor } from './cursors.js';
import { scanWindow, type ScanReport } from './filtered-scan.js';
import { UPSTREAM_MAX_LIMIT, readWindow, type Position, type Window } from './upstream-window.js';

/**
 * The batch lists (`Query.batchCalls`, `Agent.batchCalls`): the upstream list as it is, one call
 * per page, or, with a filter, a scan of full upstream pages within FILTER_PAGE_BUDGET. Both read
 * through the operation's page loader, so every page spends the operation's budget and a page
 * read twice in one operation is fetched once.
 */

/** What `batchCalls` resolves to: a Relay window and how much of the upstream list it read. */
export interface BatchCallPage extends Window<BatchCall> {
  scan: ScanReport;
}

/** The arguments of a batch list as the schema hands them over. */
export interface BatchListArgs {
  first?: number | null | undefined;
  after?: string | null | undefined;
  filter?: BatchCallFilterInput | null | undefined;
}

/** One page of the upstream list (of one agent when `agentId` is set), filtered in the gateway when asked. */
export async function resolveBatchList(args: BatchListArgs, agentId: string | null, context: Context): Promise<BatchCallPage> {
  const first = pageSize(args.first);
  const filter = batchCallFilter(args.filter);
  const after = args.after ?? null;
  return filter === null ? unfilteredList(first, after, agentId, context) : filteredList(first, after, agentId, filter, context);
}

/** The upstream list as it is: one call per page, cursors as before filters existed. */
async function unfilteredList(first: number, after: string | null, agentId: string | null, context: Context): Promise<BatchCallPage> {
  let start: Position = { lastDoc: null, skip: 0 };
  if (after !== null) {
    if (batchCursorKind(after) === 'filtered') {
      throw new InputError('`after` is a cursor of a filtered list: pass the same `filter` with it, or leave `after` out');
    }
    const cursor = decodeBatchCursor(after);
    if (cursor.agentId !== agentId) throw new InputError('`after` is a cursor of a list with a different `agentId`');
    start = cursor;
  }
  let pagesRead = 0;
  const window = await readWindow({
    start,
    first,
    fetchPage: (lastDoc, limit) => {
      pagesRead += 1;
      return context.batchPages.load({ limit, lastDoc, agentId });
    },
    encodeCursor: (position) => encodeBatchCursor({ ...position, agentId }),
  });
  return { ...window, scan: { pagesRead, stoppedEarly: false } };
}

/** Full upstream pages through the operation's page loader (budgeted, deduplicated), filtered here. */
async function filteredList(
  first: number,
  after: string | null,
  agentId: string | null,
  filter: BatchCallFilter,
  context: Context,
): Promise<BatchCallPage> {
  const fingerprint = filterFingerprint(filter, agentId);
  let start: Position = { lastDoc: null, skip: 0 };
  if (after !== null) {
    if (batchCursorKind(after) === 'unfiltered') {
      throw new InputError('`after` is a cursor of an unfiltered list: pass it without `filter`, or leave `after` out');
    }
    const cursor = decodeFilteredBatchCursor(after);
    if (cursor.fingerprint !== fingerprint) throw new InputError('`after` is a cursor of a list with a different `filter` or agent');
    start = cursor;
  }
  return scanWindow({
    start,
    first,
    fetchPage: (lastDoc) => context.batchPages.load({ limit: UPSTREAM_MAX_LIMIT, lastDoc, agentId }),
    matches: batchMatcher(filter),
    encodeCursor: (position) => encodeFilteredBatchCursor({ ...position, fingerprint }),
    pageBudget: context.services.filterPageBudget,
  });
}
