/**
 * A Relay window over an upstream that pages with an opaque `last_doc` token.
 *
 * The upstream only says where the *next page* starts, so a position is (page start, items to skip).
 * Every edge gets the position just after it: resuming there gives no duplicate and no gap. When a
 * window ends exactly at the end of an upstream page, its cursor is (next_doc, 0), so walking by
 * `endCursor` costs exactly one upstream call per page.
 */

/** Upstream page size cap: a window never asks for more. */
export const UPSTREAM_MAX_LIMIT = 100;

export interface Position {
  lastDoc: string | null;
  skip: number;
}

export interface UpstreamPage<T> {
  items: readonly T[];
  nextDoc: string | null;
  hasMore: boolean;
}

export interface Window<T> {
  edges: Array<{ node: T; cursor: string }>;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

export interface WindowRequest<T> {
  start: Position;
  first: number;
  fetchPage: (lastDoc: string | null, limit: number) => Promise<UpstreamPage<T>>;
  encodeCursor: (position: Position) => string;
  /** Guard against an upstream that keeps answering `has_more` with empty pages. */
  maxFetches?: number;
}

export async function readWindow<T>({ start, first, fetchPage, encodeCursor, maxFetches = 3 }: WindowRequest<T>): Promise<Window<T>> {
  const edges: Window<T>['edges'] = [];
  let position = start;
  let hasNextPage = false;
  /** Where to resume when the budget stops the read before any edge was found. */
  let resume: Position | null = null;

  for (let fetches = 1; ; fetches += 1) {
    const need = first - edges.length;
    const page = await fetchPage(position.lastDoc, Math.min(UPSTREAM_MAX_LIMIT, position.skip + need));
    const next = page.hasMore && page.nextDoc !== null ? page.nextDoc : null;
    const after = (index: number): Position =>
      index + 1 >= page.items.length && next !== null ? { lastDoc: next, skip: 0 } : { lastDoc: position.lastDoc, skip: index + 1 };

    const taken = page.items.slice(position.skip, position.skip + need);
    taken.forEach((node, offset) => edges.push({ node, cursor: encodeCursor(after(position.skip + offset)) }));
    const consumed = position.skip + taken.length;

    if (edges.length >= first) {
      hasNextPage = consumed < page.items.length || next !== null;
      break;
    }
    if (next === null) break;
    if (fetches >= maxFetches) {
      hasNextPage = true;
      resume = { lastDoc: next, skip: 0 };
      break;
    }
    position = { lastDoc: next, skip: 0 };
  }

  return {
    edges,
    pageInfo: {
      hasNextPage,
      hasPreviousPage: start.lastDoc !== null || start.skip > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? (resume === null ? null : encodeCursor(resume)),
    },
  };
}
